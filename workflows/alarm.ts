// The shipment loop's one durable timer. Arming a fresh timer on every wake-up costs two history
// events per upload (a cancelled timer and a new one) for a deadline that mostly moved later (the
// signal-loss deadline follows every fix). This alarm stays armed across wake-ups and is re-armed
// only when a sooner deadline appears or it has rung: ringing early is harmless, the loop looks at
// what is due and arms again for the real deadline.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';

export interface Alarm {
  /** Makes sure the alarm rings no later than `atMs` (workflow time); nothing to do without a deadline. */
  armFor(atMs: number | undefined): void;
  /** Whether it has rung since the last `reset()`. */
  readonly rang: boolean;
  reset(): void;
}

export function createAlarm(): Alarm {
  let armed: { atMs: number; scope: CancellationScope } | undefined;
  let rang = false;

  function armFor(atMs: number | undefined): void {
    if (atMs === undefined || (armed && armed.atMs <= atMs)) return;
    armed?.scope.cancel();
    const scope = new CancellationScope();
    const mine = { atMs, scope };
    armed = mine;
    // A deadline already past still waits a millisecond, so the loop can never spin without yielding.
    scope.run(() => sleep(Math.max(1, atMs - Date.now()))).then(
      () => {
        if (armed !== mine) return;
        armed = undefined;
        rang = true;
      },
      (error: unknown) => {
        if (!isCancellation(error)) throw error;
      },
    );
  }

  return {
    armFor,
    get rang() {
      return rang;
    },
    reset() {
      rang = false;
    },
  };
}
