// Anomaly thresholds: built-in defaults, overridden by the tenant's defaults, overridden by the
// shipment's own thresholds (ShipmentThresholds in domain/types.ts, the shape of both).
import type { ShipmentThresholds, TemperatureRange } from '../types.js';

export interface AnomalyConfig {
  /** SIGNAL_LOST when no fix for longer than this. */
  signalLossMin: number;
  /** LONG_DWELL limit at a stop without a planned dwell. */
  longDwellMin: number;
  /** LONG_DWELL limit at a stop with a planned dwell = plannedDwellMin + this. */
  dwellToleranceMin: number;
  /** UNPLANNED_STOP when stationary outside every stop geofence for longer than this. */
  unplannedStopMin: number;
  /** Below this reported speed a fix counts as stationary. */
  stationarySpeedKmh: number;
  /** Within this distance of where the truck stopped, it is still stopped (GPS drift). */
  stationaryRadiusM: number;
  /** OFF_ROUTE when farther than this from the planned route… */
  offRouteCorridorM: number;
  /** …and resolved only back within this (smaller) distance: the hysteresis band. */
  offRouteReentryM: number;
  /** Consecutive fixes needed to open OFF_ROUTE, and again to resolve it. */
  offRouteConsecutiveFixes: number;
  /** LATE when arrival (predicted or missing) is after window.end + this. */
  lateToleranceMin: number;
  /** A predicted LATE resolves only when a prediction is this much inside the limit again. */
  lateRecoveryMin: number;
  /** Absent: the shipment has no temperature requirement. */
  temperatureRange?: TemperatureRange;
  /** TEMPERATURE_EXCURSION when readings stay outside the range for longer than this. */
  temperatureExcursionMin: number;
  /** Resolved only once a reading is this far inside the range. */
  temperatureHysteresisC: number;
}

export const DEFAULT_ANOMALY_CONFIG: Readonly<AnomalyConfig> = {
  signalLossMin: 30,
  longDwellMin: 120,
  dwellToleranceMin: 30,
  unplannedStopMin: 30,
  stationarySpeedKmh: 5,
  stationaryRadiusM: 150,
  offRouteCorridorM: 1000,
  offRouteReentryM: 700,
  offRouteConsecutiveFixes: 3,
  lateToleranceMin: 15,
  lateRecoveryMin: 10,
  temperatureExcursionMin: 15,
  temperatureHysteresisC: 0.5,
};

/** Share of the corridor used as re-entry distance when nobody sets one explicitly. */
const DEFAULT_REENTRY_RATIO = 0.7;

const ANOMALY_FIELDS = new Set<string>([...Object.keys(DEFAULT_ANOMALY_CONFIG), 'temperatureRange']);

/** The anomaly fields that are set (thresholds also carry the geofence rules' fields). */
function defined(value: ShipmentThresholds | undefined): Partial<AnomalyConfig> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => ANOMALY_FIELDS.has(k) && v !== undefined && v !== null)) as Partial<AnomalyConfig>;
}

/** Shipment overrides beat tenant defaults beat built-in defaults, field by field. */
export function resolveAnomalyConfig(tenantDefaults?: ShipmentThresholds, shipmentOverrides?: ShipmentThresholds): AnomalyConfig {
  const tenant = defined(tenantDefaults);
  const shipment = defined(shipmentOverrides);
  const merged: AnomalyConfig = { ...DEFAULT_ANOMALY_CONFIG, ...tenant, ...shipment };
  const reentrySet = tenant.offRouteReentryM !== undefined || shipment.offRouteReentryM !== undefined;
  const reentry = reentrySet ? merged.offRouteReentryM : merged.offRouteCorridorM * DEFAULT_REENTRY_RATIO;
  const range = merged.temperatureRange;
  return {
    ...merged,
    offRouteReentryM: Math.min(reentry, merged.offRouteCorridorM),
    offRouteConsecutiveFixes: Math.max(1, Math.round(merged.offRouteConsecutiveFixes)),
    temperatureHysteresisC: range ? Math.min(merged.temperatureHysteresisC, (range.maxC - range.minC) / 2) : merged.temperatureHysteresisC,
  };
}
