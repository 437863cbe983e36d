// The raw signal ceiling's workflow: it only counts the signals it receives. Whatever the dev
// server and one worker drain of these per second is the most any signal-per-upload design gets.
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';

export const tickSignal = defineSignal('tick');
export const ticksQuery = defineQuery<number>('ticks');

export async function signalCounter(): Promise<void> {
  let ticks = 0;
  setHandler(tickSignal, () => {
    ticks += 1;
  });
  setHandler(ticksQuery, () => ticks);
  await condition(() => false);
}
