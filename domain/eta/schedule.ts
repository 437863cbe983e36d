// When the workflow asks for a new ETA: on every milestone, otherwise at most once per
// `intervalMin` of fix time. Fix time rather than workflow time: a backlog uploaded in one batch
// after a gap is re-predicted as often as if it had arrived live, and replays stay identical.

export const DEFAULT_ETA_INTERVAL_MIN = 5;

export interface EtaScheduleState {
  /** Fix time of the position the last prediction was made from. */
  lastPredictedAt?: string;
}

export interface EtaTrigger {
  kind: 'fix' | 'milestone';
}

export function shouldRepredictEta(state: EtaScheduleState, event: EtaTrigger, nowFixTime: string, intervalMin: number = DEFAULT_ETA_INTERVAL_MIN): boolean {
  if (event.kind === 'milestone') return true;
  if (state.lastPredictedAt === undefined) return true;
  return Date.parse(nowFixTime) - Date.parse(state.lastPredictedAt) >= intervalMin * 60_000;
}

export function recordEtaPrediction(state: EtaScheduleState, predictedAt: string): EtaScheduleState {
  if (state.lastPredictedAt !== undefined && Date.parse(predictedAt) <= Date.parse(state.lastPredictedAt)) return state;
  return { ...state, lastPredictedAt: predictedAt };
}
