// What a re-evaluation changed: the rule state before and after, compared milestone by milestone,
// episode by episode and on the status, as correction events for the timeline.
import type { TimelineEvent } from '../timeline.js';
import type { Anomaly } from '../types.js';
import type { DecidedMilestone, RuleState } from './rules.js';
import {
  anomalyRetracted,
  anomalyTimelineEvent,
  milestoneCorrected,
  milestoneFound,
  milestoneRetracted,
  statusCorrected,
  type Emitted,
  type TimelineContext,
  type TimelineKeys,
} from './timeline.js';

const milestoneId = (m: DecidedMilestone): string => `${m.type}:${m.stopSequence}`;
const episodeId = (a: Anomaly): string => `${a.type}:${a.stopSequence ?? '-'}:${a.openedAt}`;

function byId<T>(items: readonly T[], id: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [id(item), item]));
}

function milestoneCorrections(keys: TimelineKeys, before: RuleState, after: RuleState, ctx: TimelineContext): Emitted {
  const old = byId(before.milestones, milestoneId);
  const now = byId(after.milestones, milestoneId);
  let current = keys;
  const events: TimelineEvent[] = [];
  const add = (emitted: Emitted) => {
    current = emitted.keys;
    events.push(...emitted.events);
  };
  for (const [id, m] of now) {
    const previous = old.get(id);
    if (!previous) add(milestoneFound(current, m.type, m.stopSequence, m.at, m.position, ctx));
    else if (previous.at !== m.at) add(milestoneCorrected(current, m.type, m.stopSequence, previous.at, m.at, m.position, ctx));
  }
  for (const [id, m] of old) if (!now.has(id)) add(milestoneRetracted(current, m.type, m.stopSequence, m.at, ctx));
  return { keys: current, events };
}

function anomalyCorrections(before: RuleState, after: RuleState, ctx: TimelineContext): TimelineEvent[] {
  const old = byId(before.anomalyLog, episodeId);
  const now = byId(after.anomalyLog, episodeId);
  const events: TimelineEvent[] = [];
  const episodeEvent = (a: Anomaly, action: 'open' | 'resolve', extra: Record<string, unknown>) =>
    anomalyTimelineEvent(
      { kind: 'anomaly', action, type: a.type, at: action === 'open' ? a.openedAt : a.resolvedAt!, ...(a.stopSequence !== undefined ? { stopSequence: a.stopSequence } : {}), ...(a.detail ? { detail: a.detail } : {}) },
      ctx,
      extra,
    );
  for (const [id, a] of now) {
    const previous = old.get(id);
    if (!previous) {
      events.push(episodeEvent(a, 'open', { corrected: true }));
      if (a.resolvedAt) events.push(episodeEvent(a, 'resolve', { corrected: true }));
    } else if (previous.resolvedAt !== a.resolvedAt) {
      if (a.resolvedAt) events.push(episodeEvent(a, 'resolve', { corrected: true, ...(previous.resolvedAt ? { previousResolvedAt: previous.resolvedAt } : {}) }));
      else events.push({ ...episodeEvent(a, 'open', { corrected: true, reopened: true, previousResolvedAt: previous.resolvedAt }), key: `ANOMALY_REOPENED:${id}:${previous.resolvedAt}` });
    }
  }
  for (const [id, a] of old) if (!now.has(id)) events.push(anomalyRetracted(a, ctx));
  return events;
}

/** The status changed by a re-evaluation, stamped at the newest milestone that explains it. */
function statusCorrection(keys: TimelineKeys, before: RuleState, after: RuleState, ctx: TimelineContext): Emitted {
  const from = before.tracking.status;
  const to = after.tracking.status;
  if (from === to) return { keys, events: [] };
  const latest = after.milestones.at(-1);
  const at = latest?.at ?? after.tracking.lastFixAt ?? before.tracking.lastFixAt!;
  return statusCorrected(keys, from, to, at, latest?.stopSequence, ctx);
}

/** Correction events turning the timeline of `before` into that of `after`, in time order. */
export function reconcile(keys: TimelineKeys, before: RuleState, after: RuleState, ctx: TimelineContext): Emitted {
  const milestones = milestoneCorrections(keys, before, after, ctx);
  const status = statusCorrection(milestones.keys, before, after, ctx);
  const events = [...milestones.events, ...anomalyCorrections(before, after, ctx), ...status.events];
  return { keys: status.keys, events: events.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt)) };
}
