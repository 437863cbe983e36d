// Rule events and corrections as timeline events (shipment_events rows) with deterministic keys,
// so a retried or replayed write inserts nothing twice and a correction never rewrites a row.
import { anomalyEventKey, type AnomalyEvent } from '../anomalies/index.js';
import { geofencePassTimelineEvent, timelineEventKey, type TimelineEvent } from '../timeline.js';
import type { Anomaly, LatLon, MilestoneType, ShipmentStatus, StopPlan } from '../types.js';
import type { RuleEvent } from './rules.js';

/** What the timeline has been told so far: ordinals and revisions that keep keys unique. */
export interface TimelineKeys {
  /** Status changes so far: the ordinal in `STATUS:<n>:<to>` keys. */
  statusChanges: number;
  /** Per milestone (`ARRIVED:2`): how many times it was corrected or retracted. */
  revisions: Record<string, number>;
  /** Per stop: ETA change events so far, the ordinal in `ETA:<stop>:<n>` keys. */
  etaChanges: Record<string, number>;
}

export const initialTimelineKeys = (): TimelineKeys => ({ statusChanges: 0, revisions: {}, etaChanges: {} });

export interface TimelineContext {
  stops: ReadonlyMap<number, StopPlan>;
}

export interface Emitted {
  keys: TimelineKeys;
  events: TimelineEvent[];
}

function stopData(ctx: TimelineContext, stopSequence: number | undefined): Record<string, unknown> {
  const stop = stopSequence === undefined ? undefined : ctx.stops.get(stopSequence);
  return stop ? { stopName: stop.name, stopType: stop.type } : {};
}

function milestoneKey(keys: TimelineKeys, type: MilestoneType, stopSequence: number): string {
  const base = timelineEventKey.milestone(type, stopSequence);
  const revision = keys.revisions[base] ?? 0;
  return revision === 0 ? base : `${base}:r${revision}`;
}

function statusEvent(keys: TimelineKeys, from: ShipmentStatus, to: ShipmentStatus, at: string, stopSequence: number | undefined, ctx: TimelineContext, extra: Record<string, unknown> = {}): Emitted {
  const next = { ...keys, statusChanges: keys.statusChanges + 1 };
  const base = { occurredAt: at, stopSequence, data: { from, to, ...stopData(ctx, stopSequence), ...extra } };
  if (to === 'DELIVERED') return { keys: next, events: [{ ...base, key: timelineEventKey.delivered(), type: 'DELIVERED' }] };
  return { keys: next, events: [{ ...base, key: timelineEventKey.statusChanged(next.statusChanges, to), type: 'STATUS_CHANGED' }] };
}

export function anomalyTimelineEvent(event: AnomalyEvent, ctx: TimelineContext, extra: Record<string, unknown> = {}): TimelineEvent {
  const stop = event.stopSequence === undefined ? undefined : ctx.stops.get(event.stopSequence);
  return {
    key: anomalyEventKey(event),
    type: event.action === 'open' ? 'ANOMALY_OPENED' : 'ANOMALY_RESOLVED',
    occurredAt: event.at,
    stopSequence: event.stopSequence,
    data: { anomaly: event.type, ...(event.detail !== undefined ? { detail: event.detail } : {}), ...(stop ? { stopName: stop.name } : {}), ...extra },
  };
}

function milestoneEvent(keys: TimelineKeys, type: MilestoneType, stopSequence: number, at: string, position: LatLon | undefined, ctx: TimelineContext, extra: Record<string, unknown> = {}): TimelineEvent {
  return {
    key: milestoneKey(keys, type, stopSequence),
    type,
    occurredAt: at,
    stopSequence,
    data: { ...stopData(ctx, stopSequence), ...(position ? { lat: position.lat, lon: position.lon } : {}), ...extra },
  };
}

/** Timeline events of rule events as they happen (cancellations carry their reason and actor). */
export function timelineOf(keys: TimelineKeys, events: readonly RuleEvent[], ctx: TimelineContext, cancel?: { reason: string; actor?: string }): Emitted {
  let current = keys;
  const out: TimelineEvent[] = [];
  for (const event of events) {
    if (event.kind === 'anomaly') {
      out.push(anomalyTimelineEvent(event, ctx));
    } else if (event.kind === 'pass') {
      out.push(geofencePassTimelineEvent(event, stopData(ctx, event.stopSequence)));
    } else if (event.kind === 'milestone') {
      out.push(milestoneEvent(current, event.type, event.stopSequence, event.at, event.position, ctx));
    } else if (event.kind === 'status' && event.to === 'CANCELLED') {
      current = { ...current, statusChanges: current.statusChanges + 1 };
      out.push({
        key: timelineEventKey.cancelled(),
        type: 'CANCELLED',
        occurredAt: event.at,
        stopSequence: event.stopSequence,
        data: { from: event.from, to: event.to, ...stopData(ctx, event.stopSequence), reason: cancel?.reason },
        actor: cancel?.actor,
      });
    } else {
      const emitted = statusEvent(current, event.from, event.to, event.at, event.stopSequence, ctx);
      current = emitted.keys;
      out.push(...emitted.events);
    }
  }
  return { keys: current, events: out };
}

/** A milestone whose time a re-evaluation changed: a new event that supersedes the old one. */
export function milestoneCorrected(keys: TimelineKeys, type: MilestoneType, stopSequence: number, previousAt: string, at: string, position: LatLon | undefined, ctx: TimelineContext): Emitted {
  const supersedes = milestoneKey(keys, type, stopSequence);
  const base = timelineEventKey.milestone(type, stopSequence);
  const next = { ...keys, revisions: { ...keys.revisions, [base]: (keys.revisions[base] ?? 0) + 1 } };
  return { keys: next, events: [milestoneEvent(next, type, stopSequence, at, position, ctx, { corrected: true, supersedes, previousAt })] };
}

/** A milestone a re-evaluation no longer finds: retracted, never deleted. */
export function milestoneRetracted(keys: TimelineKeys, type: MilestoneType, stopSequence: number, previousAt: string, ctx: TimelineContext): Emitted {
  const supersedes = milestoneKey(keys, type, stopSequence);
  const base = timelineEventKey.milestone(type, stopSequence);
  const revision = (keys.revisions[base] ?? 0) + 1;
  const next = { ...keys, revisions: { ...keys.revisions, [base]: revision } };
  return {
    keys: next,
    events: [{ key: `RETRACTED:${base}:r${revision}`, type: 'MILESTONE_RETRACTED', occurredAt: previousAt, stopSequence, data: { milestone: type, ...stopData(ctx, stopSequence), supersedes } }],
  };
}

/** A milestone a re-evaluation finds for the first time (or again, after a retraction). */
export function milestoneFound(keys: TimelineKeys, type: MilestoneType, stopSequence: number, at: string, position: LatLon | undefined, ctx: TimelineContext): Emitted {
  return { keys, events: [milestoneEvent(keys, type, stopSequence, at, position, ctx, { corrected: true })] };
}

export function statusCorrected(keys: TimelineKeys, from: ShipmentStatus, to: ShipmentStatus, at: string, stopSequence: number | undefined, ctx: TimelineContext): Emitted {
  return statusEvent(keys, from, to, at, stopSequence, ctx, { corrected: true });
}

export function anomalyRetracted(anomaly: Anomaly, ctx: TimelineContext): TimelineEvent {
  const stop = anomaly.stopSequence === undefined ? undefined : ctx.stops.get(anomaly.stopSequence);
  return {
    key: `ANOMALY_RETRACTED:${anomaly.type}:${anomaly.stopSequence ?? '-'}:${anomaly.openedAt}`,
    type: 'ANOMALY_RETRACTED',
    occurredAt: anomaly.openedAt,
    stopSequence: anomaly.stopSequence,
    data: { anomaly: anomaly.type, ...(anomaly.resolvedAt ? { resolvedAt: anomaly.resolvedAt } : {}), ...(stop ? { stopName: stop.name } : {}) },
  };
}

/** An ETA that moved enough to tell someone (or the first one for a stop). */
export function etaChanged(keys: TimelineKeys, stopSequence: number, eta: string, previousEta: string | undefined, predictedAt: string, ctx: TimelineContext): Emitted {
  const ordinal = (keys.etaChanges[String(stopSequence)] ?? 0) + 1;
  const next = { ...keys, etaChanges: { ...keys.etaChanges, [String(stopSequence)]: ordinal } };
  const deltaMin = previousEta === undefined ? undefined : Math.round((Date.parse(eta) - Date.parse(previousEta)) / 60_000);
  return {
    keys: next,
    events: [
      {
        key: `ETA:${stopSequence}:${ordinal}`,
        type: 'ETA_CHANGED',
        occurredAt: predictedAt,
        stopSequence,
        data: { eta, ...(previousEta ? { previousEta, deltaMin } : {}), ...stopData(ctx, stopSequence) },
      },
    ],
  };
}
