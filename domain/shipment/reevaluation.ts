// Event time for fixes that arrive late. A fix older than the newest one applied cannot simply be
// applied: the rules are a fold in time order. So the state keeps checkpoints (the rule state as
// of a fix time, every CHECKPOINT_EVERY_MIN of fix time) and a journal of the non-fix inputs since
// the oldest one (manual milestones, ETA predictions). A late fix rewinds to the newest checkpoint
// before it; the fixes after that checkpoint are read back from the store and re-run with the
// journal, then the outcome is compared with what was decided: corrections are new timeline
// events (domain/shipment/timeline.ts), never silent rewrites.
//
// Bounded: checkpoints older than REWIND_HORIZON_MIN of fix time, or with more than
// MAX_REREAD_FIXES fixes after them, are dropped when the next one is taken, so a rewind reaches
// back at most the horizon plus one interval. A fix older than the oldest checkpoint is kept in the
// track but changes no decision (counted as `tooLate`).
import type { Fix, MilestoneType } from '../types.js';
import {
  applyDeadlines,
  applyEtaInput,
  applyFixInOrder,
  applyManualMilestoneInput,
  applyProofOfDelivery,
  type RuleContext,
  type RuleState,
} from './rules.js';

export const CHECKPOINT_EVERY_MIN = 30;
export const REWIND_HORIZON_MIN = 12 * 60;
export const MAX_REREAD_FIXES = 2_000;

export interface Checkpoint {
  /** Every fix up to and including this fix time is in `rules`; absent: before the first fix. */
  at?: string;
  rules: RuleState;
  /** `fixesApplied` when it was taken: fixes since then are what a rewind to here would read back. */
  fixIndex: number;
}

export type JournalInput =
  | { kind: 'manualMilestone'; type: MilestoneType; stopSequence: number; at: string }
  | { kind: 'proofOfDelivery'; at: string }
  | { kind: 'eta'; predictedAt: string; stops: { sequence: number; eta: string }[] };

export interface JournalEntry {
  /** Applied after every fix up to this fix time (where it was applied the first time). */
  afterFixAt?: string;
  input: JournalInput;
}

export interface ReevaluationState {
  checkpoints: Checkpoint[];
  journal: JournalEntry[];
  /** Fixes applied in order so far (re-runs included). */
  fixesApplied: number;
}

export const initialReevaluationState = (rules: RuleState): ReevaluationState => ({ checkpoints: [{ rules, fixIndex: 0 }], journal: [], fixesApplied: 0 });

/** Fixes applied since the checkpoint was taken. */
export const fixesAfter = (state: ReevaluationState, checkpoint: Checkpoint): number => state.fixesApplied - checkpoint.fixIndex;

const msOf = (at: string | undefined): number => (at === undefined ? Number.NEGATIVE_INFINITY : Date.parse(at));

/**
 * Keeps what a rewind may still need, measured from `latestFixAt`: a checkpoint is as old as its
 * fix time (the first one, taken before any fix, as old as the checkpoint after it). Runs when a
 * checkpoint is taken, so its cost is per checkpoint, not per fix.
 */
function prune(state: ReevaluationState, latestFixAt: string): ReevaluationState {
  const horizonMs = Date.parse(latestFixAt) - REWIND_HORIZON_MIN * 60_000;
  const ageMs = (index: number): number => {
    const at = state.checkpoints[index]!.at ?? state.checkpoints[index + 1]?.at;
    return at === undefined ? Number.POSITIVE_INFINITY : Date.parse(at);
  };
  const checkpoints = state.checkpoints.filter((c, index) => fixesAfter(state, c) <= MAX_REREAD_FIXES && ageMs(index) >= horizonMs);
  const oldest = checkpoints[0];
  const journal = oldest ? state.journal.filter((e) => msOf(e.afterFixAt) >= msOf(oldest.at)) : [];
  return { ...state, checkpoints, journal };
}

/**
 * Before a fix is applied in order: takes a checkpoint of `rules` (everything up to the previous
 * fix) when the last one is old enough, and counts the fix.
 */
export function beforeFix(state: ReevaluationState, rules: RuleState): ReevaluationState {
  const counted = { ...state, fixesApplied: state.fixesApplied + 1 };
  const last = state.checkpoints.at(-1);
  const lastFixAt = rules.tracking.lastFixAt;
  if (lastFixAt === undefined || (last && msOf(lastFixAt) - msOf(last.at) < CHECKPOINT_EVERY_MIN * 60_000 && fixesAfter(state, last) < MAX_REREAD_FIXES)) return counted;
  return prune({ ...counted, checkpoints: [...state.checkpoints, { at: lastFixAt, rules, fixIndex: state.fixesApplied }] }, lastFixAt);
}

/** Remembers a non-fix input where it was applied, for re-runs. */
export function journal(state: ReevaluationState, input: JournalInput, afterFixAt: string | undefined): ReevaluationState {
  return { ...state, journal: [...state.journal, { afterFixAt, input }] };
}

/** The newest checkpoint every fix of `late` is after; undefined when one is beyond the horizon. */
export function rewindTarget(state: ReevaluationState, earliestLateAt: string): Checkpoint | undefined {
  const lateMs = Date.parse(earliestLateAt);
  return state.checkpoints.findLast((c) => msOf(c.at) < lateMs);
}

function applyJournal(rules: RuleState, input: JournalInput, ctx: RuleContext): RuleState {
  switch (input.kind) {
    case 'eta':
      return applyEtaInput(rules, input.predictedAt, input.stops, ctx).rules;
    case 'proofOfDelivery':
      return applyProofOfDelivery(rules, input.at, ctx).rules;
    case 'manualMilestone':
      return applyManualMilestoneInput(rules, input.type, input.stopSequence, input.at, ctx).rules;
  }
}

export interface RerunResult {
  rules: RuleState;
  reevaluation: ReevaluationState;
}

/**
 * Re-runs from `from`: `fixes` are every stored fix after its time (any order, one per time),
 * merged with the journal entries after it; then the deadlines passed by `fixNow`. Checkpoints
 * after `from` are rebuilt on the way.
 */
export function rerun(state: ReevaluationState, from: Checkpoint, fixes: readonly Fix[], fixNow: string, ctx: RuleContext): RerunResult {
  const fromMs = msOf(from.at);
  const sorted = [...fixes].filter((f) => Date.parse(f.recordedAt) > fromMs).sort((a, b) => Date.parse(a.recordedAt) - Date.parse(b.recordedAt));
  const pending = state.journal.filter((e) => msOf(e.afterFixAt) >= fromMs).sort((a, b) => msOf(a.afterFixAt) - msOf(b.afterFixAt));
  let reevaluation: ReevaluationState = { checkpoints: [...state.checkpoints.filter((c) => msOf(c.at) < fromMs), { ...from, fixIndex: state.fixesApplied }], journal: state.journal, fixesApplied: state.fixesApplied };
  let rules = from.rules;
  let next = 0;
  const drainJournal = (uptoMs: number) => {
    while (next < pending.length && msOf(pending[next]!.afterFixAt) < uptoMs) rules = applyJournal(rules, pending[next++]!.input, ctx);
  };
  for (const fix of sorted) {
    drainJournal(Date.parse(fix.recordedAt));
    reevaluation = beforeFix(reevaluation, rules);
    rules = applyFixInOrder(rules, fix, ctx).rules;
  }
  drainJournal(Number.POSITIVE_INFINITY);
  rules = applyDeadlines(rules, fixNow, ctx).rules;
  return { rules, reevaluation };
}
