// What the geofence rules (domain/milestones.ts) need to know: the hysteresis band, when a visit
// of a stop's geofence becomes an arrival, when a visit ends, and the legacy configuration under
// which shipments started before confirmed arrivals replay exactly as they ran.
import type { ArrivalConfirmation, ShipmentThresholds, StopPlan } from './types.js';

/** The arrival rules of one stop: any of them reached confirms the visit. */
export interface ArrivalRule {
  dwellMin: number;
  stationaryMin: number;
  /** Absent: no count rule. */
  fixes?: number;
}

export interface GeofenceConfig {
  /** Exit radius = radius + max(radius × ratio, minimum): the hysteresis band against edge jitter. */
  exitMarginRatio: number;
  exitMarginMinM: number;
  /** Consecutive fixes beyond the exit radius that confirm a departure (or end a pass). */
  departureConfirmationFixes: number;
  /** Fixes reporting a worse accuracy than this are ignored for geofencing. */
  maxAccuracyM: number;
  /** Every stop's arrival rules unless the stop has its own (StopPlan.arrivalConfirmation). */
  arrival: ArrivalRule;
  /** Standing still = every fix within this distance of where the vehicle stopped (GPS drift). */
  stationaryRadiusM: number;
  /**
   * A silence longer than this between the last fix inside and the first fix beyond the exit
   * radius is a tracker gap: that one fix ends the visit, which is stamped at the last fix inside.
   * Absent: a departure always needs its consecutive fixes and is stamped at the first outside.
   */
  trackerGapMin?: number;
  /**
   * Proof of delivery, manual milestones and LONG_DWELL honour a visit whose latest fix is
   * already outside (its departure waits for confirmation): they close it, and no dwell limit
   * opens meanwhile. False only in the legacy configuration.
   */
  closesPendingVisits: boolean;
}

/**
 * Defaults, chosen to tell drive-bys from visits for trackers reporting every 5 s to 5 min:
 * - standing still for 3 min confirms: longer than a red light (a drive-by stopped at a light
 *   inside the geofence stays within 150 m for under 2.5 min) and shorter than any pickup or
 *   delivery; two fixes of a 5-min tracker prove it, so a sparse tracker confirms a visit on its
 *   second fix inside. 150 m is UNPLANNED_STOP's "still stopped" radius (`stationaryRadiusM`).
 * - 10 min inside confirms whatever the vehicle does there (shunting in a yard, noisy fixes):
 *   at 15 km/h or more a drive-by crosses even the simulator's 800 m city geofences (2 km across
 *   the exit circle) in under 8 min. A 2-min dwell alone would confirm drive-bys of any geofence
 *   over ~150 m at urban speeds (a 300 m fence's exit circle is 800 m across: 96 s at 30 km/h).
 * - no fix count: none separates both ends (a 5 s tracker records 10–30 fixes on a drive-by, a
 *   5-min tracker 2 on a visit); set one per shipment or stop for trackers that report on events.
 * - a tracker gap is a silence over 10 min, twice the sparsest interval: such a stream lost fixes,
 *   the vehicle left somewhere in the silence, and its last fix inside is the last time it was
 *   known to be there (stamping the first fix after the gap would add the whole gap to the dwell).
 */
export const DEFAULT_GEOFENCE_CONFIG: Readonly<GeofenceConfig> = {
  exitMarginRatio: 0.25,
  exitMarginMinM: 100,
  departureConfirmationFixes: 2,
  maxAccuracyM: 1000,
  arrival: { dwellMin: 10, stationaryMin: 3 },
  stationaryRadiusM: 150,
  trackerGapMin: 10,
  closesPendingVisits: true,
};

/**
 * The rules before confirmed arrivals: the first fix inside is the arrival, a departure needs two
 * consecutive fixes outside and is stamped at the first, and nothing else ends a visit. Shipments
 * whose workflow started on those rules keep them, so their histories replay unchanged. Spelled
 * out rather than derived from the defaults: it must not move when they do.
 */
export const LEGACY_GEOFENCE_CONFIG: Readonly<GeofenceConfig> = {
  exitMarginRatio: 0.25,
  exitMarginMinM: 100,
  departureConfirmationFixes: 2,
  maxAccuracyM: 1000,
  arrival: { dwellMin: 0, stationaryMin: 0 },
  stationaryRadiusM: 150,
  closesPendingVisits: false,
};

export function exitRadiusM(stop: Pick<StopPlan, 'geofenceRadiusM'>, config: GeofenceConfig): number {
  return stop.geofenceRadiusM + Math.max(stop.geofenceRadiusM * config.exitMarginRatio, config.exitMarginMinM);
}

function defined<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

function arrivalOf(thresholds: ShipmentThresholds): ArrivalConfirmation {
  return defined({ dwellMin: thresholds.arrivalDwellMin, stationaryMin: thresholds.arrivalStationaryMin, fixes: thresholds.arrivalFixes });
}

/** Shipment overrides beat tenant defaults beat built-in defaults, field by field. */
export function resolveGeofenceConfig(tenantDefaults: ShipmentThresholds = {}, shipmentOverrides: ShipmentThresholds = {}): GeofenceConfig {
  const tenant = defined(tenantDefaults);
  const shipment = defined(shipmentOverrides);
  const merged = { ...tenant, ...shipment };
  return {
    ...DEFAULT_GEOFENCE_CONFIG,
    arrival: { ...DEFAULT_GEOFENCE_CONFIG.arrival, ...arrivalOf(tenant), ...arrivalOf(shipment) },
    ...(merged.stationaryRadiusM !== undefined ? { stationaryRadiusM: merged.stationaryRadiusM } : {}),
    ...(merged.trackerGapMin !== undefined ? { trackerGapMin: merged.trackerGapMin } : {}),
  };
}

/** The stop's own rules over the shipment's. */
export function arrivalRuleOf(stop: Pick<StopPlan, 'arrivalConfirmation'>, config: GeofenceConfig): ArrivalRule {
  return { ...config.arrival, ...defined(stop.arrivalConfirmation) };
}
