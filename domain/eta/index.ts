// ETA model: the entry points the workflow, activities and reports use.
export { predictEta, predictEtaBaseline, DEFAULT_ETA_MODEL, BASELINE_SPEED_KMH } from './predict.js';
export type { EtaInput, EtaStop, EtaModel, EtaModelOptions, EtaPrediction, EtaPredictionDetail, StopEta, BaselineEtaInput, EtaHistoryHooks, EtaHistoryUse, LegDriving } from './predict.js';
export { BREAK_RULES, driveWithBreaks, driveWithRests } from './breaks.js';
export type { BreakRule, BreakRuleSet, DrivingWithBreaks, DrivingWithRests } from './breaks.js';
export { estimateSpeed, recentMovingSpeed, DEFAULT_SPEED_MODEL } from './speed.js';
export type { SpeedEstimate, SpeedModelOptions, RecentSpeed } from './speed.js';
export { shouldRepredictEta, recordEtaPrediction, DEFAULT_ETA_INTERVAL_MIN } from './schedule.js';
export type { EtaScheduleState, EtaTrigger } from './schedule.js';
export { computeEtaAccuracy, DEFAULT_HORIZONS_MIN, DEFAULT_ACCURACY_TOLERANCE_MIN } from './accuracy.js';
export type { EtaPredictionRecord, ActualArrival, AccuracyStats, HorizonAccuracy, EtaAccuracyReport } from './accuracy.js';
export { drivingMinSinceBreak, drivingDay, needsDrivingDay, BREAK_LOOKBACK_MIN, BREAK_WINDOW_MIN } from './driving-time.js';
export type { DrivingDay } from './driving-time.js';
export { predictBoth } from './shipment-eta.js';
export type { EtaPlan, EtaProgress } from './shipment-eta.js';
export {
  buildEtaHistoryModel,
  cellKey,
  facilityKey,
  hourOfWeek,
  learnEtaHistory,
  percentile,
  HistoryLearner,
  DEFAULT_ETA_HISTORY,
  HOURS_PER_WEEK,
} from './history.js';
export type { EtaHistoryConfig, EtaHistoryFigures, EtaHistoryModel, FacilityDwellFigure, CorridorSpeedFigure, HistoryShipment } from './history.js';
