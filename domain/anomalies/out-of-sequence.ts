// OUT_OF_SEQUENCE: arrival at a stop while an earlier stop (lower sequence) has not been reached.
// Opened on the early stop at its arrival; resolved once every earlier stop has been reached
// (or when the shipment closes). No timer.
import { canonicalIso } from '../eta/time.js';
import { openEvent, resolveEvent } from './episode.js';
import type { AnomalyContext, AnomalyEvent, AnomalyInput, DetectorResult, OpenAnomaly } from './types.js';

export interface OutOfSequenceState {
  arrived: number[];
  open: { sequence: number; openedAt: string }[];
}

export const initialOutOfSequenceState = (): OutOfSequenceState => ({ arrived: [], open: [] });

const earlierMissing = (sequence: number, arrived: readonly number[], ctx: AnomalyContext) =>
  ctx.stops.map((stop) => stop.sequence).filter((s) => s < sequence && !arrived.includes(s)).sort((a, b) => a - b);

export function detectOutOfSequence(state: OutOfSequenceState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<OutOfSequenceState> {
  if (input.kind !== 'milestone' || input.type !== 'ARRIVED' || state.arrived.includes(input.stopSequence)) return { state, events: [] };
  const at = canonicalIso(input.at);
  const arrived = [...state.arrived, input.stopSequence];
  const events: AnomalyEvent[] = [];
  const stillOpen = state.open.filter((o) => {
    if (earlierMissing(o.sequence, arrived, ctx).length > 0) return true;
    events.push(resolveEvent('OUT_OF_SEQUENCE', o.openedAt, at, { stopSequence: o.sequence, detail: 'earlier stops reached' }));
    return false;
  });
  const skipped = earlierMissing(input.stopSequence, arrived, ctx);
  if (skipped.length > 0) {
    stillOpen.push({ sequence: input.stopSequence, openedAt: at });
    events.push(openEvent('OUT_OF_SEQUENCE', at, { stopSequence: input.stopSequence, detail: `arrived before stop ${skipped.join(', ')}` }));
  }
  return { state: { arrived, open: stillOpen }, events };
}

export function outOfSequenceOpen(state: OutOfSequenceState): OpenAnomaly[] {
  return state.open.map((o) => ({ type: 'OUT_OF_SEQUENCE', openedAt: o.openedAt, stopSequence: o.sequence }));
}
