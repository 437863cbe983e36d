// TEMPERATURE_EXCURSION, for shipments with a temperature range: readings (fix.temperatureC)
// outside [minC, maxC] for longer than temperatureExcursionMin. The last reading is assumed to
// hold until the next one, so the timer and fixes without a reading can open it. Resolved by a
// reading at least temperatureHysteresisC inside the range, so a reefer hovering at the limit
// does not flap it.
import { addMinutes, canonicalIso } from '../eta/time.js';
import { isPast, openEvent, resolveEvent } from './episode.js';
import { inputTime, type AnomalyContext, type AnomalyInput, type DetectorResult, type OpenAnomaly } from './types.js';

export interface TemperatureState {
  outOfRangeSince?: string;
  lastReadingC?: number;
  openedAt?: string;
}

export function temperatureDeadline(state: TemperatureState, ctx: AnomalyContext): string | undefined {
  if (!ctx.config.temperatureRange || state.openedAt !== undefined || state.outOfRangeSince === undefined) return undefined;
  return addMinutes(state.outOfRangeSince, ctx.config.temperatureExcursionMin);
}

function openDue(state: TemperatureState, ctx: AnomalyContext, nowMs: number, inclusive: boolean): DetectorResult<TemperatureState> {
  const deadline = temperatureDeadline(state, ctx);
  const range = ctx.config.temperatureRange;
  if (deadline === undefined || !range || !isPast(deadline, nowMs, inclusive)) return { state, events: [] };
  const detail = `${state.lastReadingC} °C, outside ${range.minC}..${range.maxC} °C since ${state.outOfRangeSince}`;
  return { state: { ...state, openedAt: deadline }, events: [openEvent('TEMPERATURE_EXCURSION', deadline, { detail })] };
}

export function temperatureOnDeadline(state: TemperatureState, nowIso: string, ctx: AnomalyContext): DetectorResult<TemperatureState> {
  return openDue(state, ctx, Date.parse(nowIso), true);
}

export function detectTemperature(state: TemperatureState, input: AnomalyInput, ctx: AnomalyContext): DetectorResult<TemperatureState> {
  const range = ctx.config.temperatureRange;
  if (!range) return { state, events: [] };
  const { state: caughtUp, events } = openDue(state, ctx, Date.parse(inputTime(input)), false);
  if (input.kind !== 'fix' || input.fix.temperatureC === undefined) return { state: caughtUp, events };
  const celsius = input.fix.temperatureC;
  const at = canonicalIso(input.fix.recordedAt);
  const hysteresis = ctx.config.temperatureHysteresisC;

  if (caughtUp.openedAt !== undefined) {
    if (celsius < range.minC + hysteresis || celsius > range.maxC - hysteresis) return { state: { ...caughtUp, lastReadingC: celsius }, events };
    return { state: {}, events: [...events, resolveEvent('TEMPERATURE_EXCURSION', caughtUp.openedAt, at, { detail: `${celsius} °C, back in range` })] };
  }
  if (celsius >= range.minC && celsius <= range.maxC) return { state: {}, events };
  return { state: { outOfRangeSince: caughtUp.outOfRangeSince ?? at, lastReadingC: celsius }, events };
}

export function temperatureOpen(state: TemperatureState): OpenAnomaly[] {
  return state.openedAt === undefined ? [] : [{ type: 'TEMPERATURE_EXCURSION', openedAt: state.openedAt }];
}
