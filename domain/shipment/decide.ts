// The shipment's decisions, one input at a time: a batch of stored fixes, a re-run after a late
// fix, an ETA prediction, a person's report, a deadline. Each takes the decision state and gives
// the next one plus the timeline events to persist and what to ask the activities for. Pure: the
// workflow (workflows/shipment.ts) is wiring around these functions.
import { shouldRepredictEta, recordEtaPrediction, type EtaScheduleState } from '../eta/schedule.js';
import { timelineEventKey, type TimelineEvent } from '../timeline.js';
import type { Fix, MilestoneType, StopPlan } from '../types.js';
import { manualMilestoneRefusal } from '../milestones.js';
import { reconcile } from './reconcile.js';
import { beforeFix, initialReevaluationState, journal, rerun, rewindTarget, type Checkpoint, type ReevaluationState } from './reevaluation.js';
import {
  applyCancellation,
  applyDeadlines,
  applyEtaInput,
  applyFixInOrder,
  applyManualMilestoneInput,
  applyProofOfDelivery,
  initialRuleState,
  isClosed,
  type RuleContext,
  type RuleEvent,
  type RuleState,
} from './rules.js';
import { etaChanged, initialTimelineKeys, timelineOf, type TimelineContext, type TimelineKeys } from './timeline.js';

export interface FixCounters {
  /** Fixes that drove the rules, once each (late ones included, re-reads not counted again). */
  applied: number;
  /** Same fix time as a fix already received. */
  duplicates: number;
  /** Older than the newest fix applied when they arrived: re-evaluated from a checkpoint. */
  late: number;
  /** Late beyond the oldest checkpoint: kept in the track, no decision changed. */
  tooLate: number;
  /** Arrived after cancellation: kept in the track, decisions are final. */
  afterClose: number;
  /** Re-evaluations run. */
  rewinds: number;
}

export interface EtaDecisionState {
  schedule: EtaScheduleState;
  /** Latest model ETA per stop. */
  stops: { sequence: number; eta: string }[];
  /** Per stop, the ETA last told in an ETA_CHANGED event. */
  published: Record<string, string>;
}

/** Plain JSON: carried across continue-as-new. */
export interface DecisionState {
  rules: RuleState;
  reevaluation: ReevaluationState;
  keys: TimelineKeys;
  eta: EtaDecisionState;
  counters: FixCounters;
}

export interface DecisionContext extends RuleContext {
  timeline: TimelineContext;
  /** ETA re-prediction at most this often in fix time (and on every milestone). */
  etaIntervalMin: number;
  /** An ETA_CHANGED event when a stop's ETA moves at least this much. */
  etaChangeMin: number;
}

export interface Decision {
  state: DecisionState;
  events: TimelineEvent[];
  /** Ask the ETA activity for a prediction from this fix. */
  etaFrom?: Fix;
}

export interface BatchDecision extends Decision {
  /** Late fixes need a re-run from this checkpoint: read every stored fix after its time. */
  rewindFrom?: Checkpoint;
}

export function buildDecisionContext(stops: readonly StopPlan[], rules: Omit<RuleContext, 'stops'>, eta: { intervalMin: number; changeMin: number }): DecisionContext {
  return { stops, ...rules, timeline: { stops: new Map(stops.map((s) => [s.sequence, s])) }, etaIntervalMin: eta.intervalMin, etaChangeMin: eta.changeMin };
}

export function initialDecisionState(stops: readonly StopPlan[]): DecisionState {
  const rules = initialRuleState(stops);
  return {
    rules,
    reevaluation: initialReevaluationState(rules),
    keys: initialTimelineKeys(),
    eta: { schedule: {}, stops: [], published: {} },
    counters: { applied: 0, duplicates: 0, late: 0, tooLate: 0, afterClose: 0, rewinds: 0 },
  };
}

function timeline(state: DecisionState, events: readonly RuleEvent[], ctx: DecisionContext, cancel?: { reason: string; actor?: string }): { state: DecisionState; events: TimelineEvent[] } {
  const emitted = timelineOf(state.keys, events, ctx.timeline, cancel);
  return { state: { ...state, keys: emitted.keys }, events: emitted.events };
}

const milestoneCount = (events: readonly RuleEvent[]): number => events.filter((e) => e.kind === 'milestone').length;

/** An ETA from the latest position when a milestone happened or the interval has passed. */
function etaTrigger(state: DecisionState, milestones: number, ctx: DecisionContext): Fix | undefined {
  const latest = state.rules.lastPosition;
  if (!latest || isClosed(state.rules) || !state.rules.tracking.stops.some((s) => s.status === 'PENDING')) return undefined;
  const trigger = { kind: milestones > 0 ? ('milestone' as const) : ('fix' as const) };
  return shouldRepredictEta(state.eta.schedule, trigger, latest.recordedAt, ctx.etaIntervalMin) ? latest : undefined;
}

/** Records that a prediction was asked for: a failing activity is not retried on every later fix. */
export function etaRequested(state: DecisionState, from: Fix): DecisionState {
  return { ...state, eta: { ...state.eta, schedule: recordEtaPrediction(state.eta.schedule, from.recordedAt) } };
}

interface SortedBatch {
  fresh: Fix[];
  late: Fix[];
  duplicates: number;
}

/** Time order, one fix per time (the first received), split at the newest fix applied. */
function sortBatch(fixes: readonly Fix[], lastFixAt: string | undefined): SortedBatch {
  const lastMs = lastFixAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(lastFixAt);
  const timed = fixes.map((fix, index) => ({ fix, index, ms: Date.parse(fix.recordedAt) })).filter(({ ms, fix }) => Number.isFinite(ms) && Number.isFinite(fix.lat) && Number.isFinite(fix.lon));
  timed.sort((a, b) => a.ms - b.ms || a.index - b.index);
  const batch: SortedBatch = { fresh: [], late: [], duplicates: 0 };
  let previousMs = Number.NaN;
  for (const { fix, ms } of timed) {
    if (ms === previousMs || ms === lastMs) batch.duplicates += 1;
    else if (ms < lastMs) batch.late.push(fix);
    else batch.fresh.push(fix);
    previousMs = ms;
  }
  return batch;
}

function count(state: DecisionState, change: Partial<FixCounters>): DecisionState {
  const counters = { ...state.counters };
  for (const [key, value] of Object.entries(change) as [keyof FixCounters, number][]) counters[key] += value;
  return { ...state, counters };
}

/**
 * A batch of stored fixes, in any order. Fixes newer than every fix applied are applied in time
 * order; if any is older (late) and a checkpoint before it exists, nothing is applied here: the
 * caller reads the fixes after `rewindFrom` and calls `decideRerun` (the batch is among them).
 * A delivered shipment still takes late fixes (an upload that arrives after the delivery's own
 * fixes can move its milestones); a cancelled one decides nothing more.
 */
export function decideFixes(state: DecisionState, fixes: readonly Fix[], ctx: DecisionContext): BatchDecision {
  if (state.rules.tracking.status === 'CANCELLED') return { state: count(state, { afterClose: fixes.length }), events: [] };
  const batch = sortBatch(fixes, state.rules.tracking.lastFixAt);
  let next = count(state, { duplicates: batch.duplicates });
  const oldest = state.reevaluation.checkpoints[0];
  const reachable = batch.late.filter((fix) => oldest !== undefined && (oldest.at === undefined || Date.parse(fix.recordedAt) > Date.parse(oldest.at)));
  if (reachable.length > 0) {
    const from = rewindTarget(state.reevaluation, reachable[0]!.recordedAt)!;
    next = count(next, { late: reachable.length, tooLate: batch.late.length - reachable.length, applied: reachable.length + batch.fresh.length, rewinds: 1 });
    return { state: next, events: [], rewindFrom: from };
  }
  next = count(next, { tooLate: batch.late.length, applied: batch.fresh.length });
  const ruleEvents: RuleEvent[] = [];
  for (const fix of batch.fresh) {
    const reevaluation = beforeFix(next.reevaluation, next.rules);
    const step = applyFixInOrder(next.rules, fix, ctx);
    next = { ...next, rules: step.rules, reevaluation };
    ruleEvents.push(...step.events);
  }
  const out = timeline(next, ruleEvents, ctx);
  return { ...out, etaFrom: etaTrigger(out.state, milestoneCount(ruleEvents), ctx) };
}

/**
 * The re-run a late fix asked for: `fixes` are every stored fix after `from` (the late ones
 * included). The outcome replaces the rule state; what changed becomes correction events.
 */
export function decideRerun(state: DecisionState, from: Checkpoint, fixes: readonly Fix[], fixNow: string, ctx: DecisionContext): Decision {
  const result = rerun(state.reevaluation, from, fixes, fixNow, ctx);
  const corrections = reconcile(state.keys, state.rules, result.rules, ctx.timeline);
  const next: DecisionState = { ...state, rules: result.rules, reevaluation: result.reevaluation, keys: corrections.keys };
  const milestonesChanged = corrections.events.some((e) => e.type === 'ARRIVED' || e.type === 'DEPARTED' || e.type === 'MILESTONE_RETRACTED');
  return { state: next, events: corrections.events, etaFrom: etaTrigger(next, milestonesChanged ? 1 : 0, ctx) };
}

/** A prediction from the ETA activity: feeds LATE, and tells of stops whose ETA moved enough. */
export function decideEta(state: DecisionState, prediction: { predictedAt: string; stops: { sequence: number; eta: string }[] }, ctx: DecisionContext): Decision {
  if (isClosed(state.rules)) return { state, events: [] };
  const step = applyEtaInput(state.rules, prediction.predictedAt, prediction.stops, ctx);
  let next: DecisionState = {
    ...state,
    rules: step.rules,
    reevaluation: journal(state.reevaluation, { kind: 'eta', ...prediction }, prediction.predictedAt),
    eta: { ...state.eta, stops: prediction.stops },
  };
  const out = timeline(next, step.events, ctx);
  next = out.state;
  const events = [...out.events];
  const published = { ...next.eta.published };
  let keys = next.keys;
  for (const { sequence, eta } of prediction.stops) {
    const previous = published[String(sequence)];
    if (previous !== undefined && Math.abs(Date.parse(eta) - Date.parse(previous)) < ctx.etaChangeMin * 60_000) continue;
    const emitted = etaChanged(keys, sequence, eta, previous, prediction.predictedAt, ctx.timeline);
    keys = emitted.keys;
    events.push(...emitted.events);
    published[String(sequence)] = eta;
  }
  return { state: { ...next, keys, eta: { ...next.eta, published } }, events };
}

/** Opens what the deadlines passed by fix-time `fixNow` are due for. */
export function decideDeadlines(state: DecisionState, fixNow: string, ctx: DecisionContext): Decision {
  const step = applyDeadlines(state.rules, fixNow, ctx);
  if (step.events.length === 0) return { state, events: [] };
  return timeline({ ...state, rules: step.rules }, step.events, ctx);
}

export function decideCancellation(state: DecisionState, at: string, fixNow: string, cancel: { reason: string; actor?: string }, ctx: DecisionContext): Decision {
  const step = applyCancellation(state.rules, at, fixNow);
  return timeline({ ...state, rules: step.rules }, step.events, ctx, cancel);
}

/** Why a manual milestone cannot apply now, or undefined when it can. */
export function manualMilestoneProblem(state: DecisionState, type: MilestoneType, stopSequence: number, ctx: DecisionContext): string | undefined {
  return manualMilestoneRefusal(state.rules.tracking, type, stopSequence, ctx.geofence);
}

export function decideManualMilestone(state: DecisionState, type: MilestoneType, stopSequence: number, at: string, ctx: DecisionContext): Decision {
  const step = applyManualMilestoneInput(state.rules, type, stopSequence, at, ctx);
  const next: DecisionState = {
    ...state,
    rules: step.rules,
    reevaluation: journal(state.reevaluation, { kind: 'manualMilestone', type, stopSequence, at }, state.rules.tracking.lastFixAt),
  };
  const out = timeline(next, step.events, ctx);
  return { ...out, etaFrom: etaTrigger(out.state, milestoneCount(step.events), ctx) };
}

export function decideProofOfDelivery(state: DecisionState, at: string, ctx: DecisionContext): Decision {
  const step = applyProofOfDelivery(state.rules, at, ctx);
  const reevaluation = journal(state.reevaluation, { kind: 'proofOfDelivery', at }, state.rules.tracking.lastFixAt);
  return timeline({ ...state, rules: step.rules, reevaluation }, step.events, ctx);
}

/** The delivery event's own timeline row, keyed by the client's event id. */
export function deliveryEventTimeline(
  event: { eventId: string; type: TimelineEvent['type']; at: string; actor?: string; details: Record<string, unknown> },
  stop: StopPlan | undefined,
): TimelineEvent {
  return {
    key: timelineEventKey.deliveryEvent(event.eventId),
    type: event.type,
    occurredAt: event.at,
    stopSequence: stop?.sequence,
    data: { eventId: event.eventId, ...event.details, ...(stop ? { stopName: stop.name, stopType: stop.type } : {}) },
    actor: event.actor,
  };
}

export const createdTimelineEvent = (plan: { reference: string; createdAt: string; stops: readonly unknown[] }): TimelineEvent => ({
  key: timelineEventKey.created(),
  type: 'SHIPMENT_CREATED',
  occurredAt: plan.createdAt,
  data: { reference: plan.reference, stops: plan.stops.length },
});
