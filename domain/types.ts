// The freight domain's types and the value lists behind them (statuses, stop and anomaly types),
// shared by workflows, activities and the API, whose enums are derived from these lists.

export interface LatLon {
  lat: number;
  lon: number;
}

/** One GPS reading from a device. Times are ISO-8601 UTC strings. */
export interface Fix extends LatLon {
  recordedAt: string;
  speedKmh?: number;
  headingDeg?: number;
  accuracyM?: number;
  temperatureC?: number;
}

/** Vendor-specific readings of a device, e.g. Teltonika IO elements or Traccar attributes. */
export type DeviceAttributes = Record<string, number | boolean | string>;

/** Telematics a device may send with a fix (README "Device model"); stored and returned, not used by the rules. */
export interface DeviceTelemetry {
  altitudeM?: number;
  satellites?: number;
  hdop?: number;
  ignition?: boolean;
  batteryPct?: number;
  batteryV?: number;
  odometerKm?: number;
  humidityPct?: number;
  doorOpen?: boolean;
  eventCode?: string;
  attributes?: DeviceAttributes;
}

/** A fix as a device sends it and the positions table keeps it. */
export type DeviceFix = Fix & DeviceTelemetry;

export const STOP_TYPES = ['pickup', 'delivery', 'waypoint'] as const;
export type StopType = (typeof STOP_TYPES)[number];
export const STOP_STATUSES = ['PENDING', 'ARRIVED', 'DEPARTED'] as const;
export type StopStatus = (typeof STOP_STATUSES)[number];
export const SHIPMENT_STATUSES = ['PLANNED', 'IN_TRANSIT', 'AT_STOP', 'DELIVERED', 'CANCELLED'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];
/** Not delivered or cancelled: the shipment still takes fixes and assignments. */
export const ACTIVE_STATUSES: readonly ShipmentStatus[] = ['PLANNED', 'IN_TRANSIT', 'AT_STOP'];

export interface TimeWindow {
  start: string;
  end: string;
}

export interface StopPlan {
  sequence: number;
  type: StopType;
  name: string;
  location: LatLon;
  geofenceRadiusM: number;
  window?: TimeWindow;
  plannedDwellMin?: number;
  /** This stop's own arrival confirmation, over the shipment's (domain/geofence.ts). */
  arrivalConfirmation?: ArrivalConfirmation;
}

/**
 * What turns a visit of a stop's geofence into an arrival; any rule reached confirms it
 * (defaults and reasons in domain/geofence.ts). Shipment thresholds and stops share these fields.
 */
export interface ArrivalConfirmation {
  /** Minutes from the visit's first fix inside to a later fix still within the exit radius. */
  dwellMin?: number;
  /** Minutes standing still inside (every fix within `stationaryRadiusM` of where it stopped). */
  stationaryMin?: number;
  /** Fixes of the visit; absent: no count rule. */
  fixes?: number;
}

export interface LineString {
  type: 'LineString';
  coordinates: [number, number][];
}

export const ANOMALY_TYPES = ['SIGNAL_LOST', 'LONG_DWELL', 'UNPLANNED_STOP', 'OFF_ROUTE', 'LATE', 'OUT_OF_SEQUENCE', 'TEMPERATURE_EXCURSION'] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];
export const ANOMALY_STATUSES = ['open', 'resolved'] as const;
export type AnomalyStatus = (typeof ANOMALY_STATUSES)[number];

export interface TemperatureRange {
  minC: number;
  maxC: number;
}

/**
 * Anomaly and geofence thresholds: tenant defaults and per-shipment overrides share this shape
 * (domain/anomalies/config.ts and domain/geofence.ts resolve them; field docs live there).
 */
export interface ShipmentThresholds {
  signalLossMin?: number;
  longDwellMin?: number;
  dwellToleranceMin?: number;
  unplannedStopMin?: number;
  stationarySpeedKmh?: number;
  stationaryRadiusM?: number;
  offRouteCorridorM?: number;
  offRouteReentryM?: number;
  offRouteConsecutiveFixes?: number;
  lateToleranceMin?: number;
  lateRecoveryMin?: number;
  temperatureRange?: TemperatureRange;
  temperatureExcursionMin?: number;
  temperatureHysteresisC?: number;
  /** Arrival confirmation for every stop without its own (ArrivalConfirmation's fields). */
  arrivalDwellMin?: number;
  arrivalStationaryMin?: number;
  arrivalFixes?: number;
  /** Silence longer than this around a departure is a tracker gap (domain/geofence.ts). */
  trackerGapMin?: number;
  /** An ETA_CHANGED timeline event when a stop's ETA moves at least this many minutes (default 10). */
  etaChangeMin?: number;
}

export interface Assignment {
  carrierId?: string;
  vehicleId?: string;
  driverId?: string;
  deviceId?: string;
}

/** Everything the workflow needs to know about a shipment; fixed at creation (assignment may change). */
export interface ShipmentPlan extends Assignment {
  tenantId: string;
  shipmentId: string;
  reference: string;
  createdAt: string;
  stops: StopPlan[];
  route?: LineString;
  thresholds: ShipmentThresholds;
}

export const MILESTONE_TYPES = ['ARRIVED', 'DEPARTED'] as const;
export type MilestoneType = (typeof MILESTONE_TYPES)[number];

export interface Milestone {
  type: MilestoneType;
  stopSequence: number;
  at: string;
}

export interface Anomaly {
  type: AnomalyType;
  status: AnomalyStatus;
  openedAt: string;
  resolvedAt?: string;
  stopSequence?: number;
  detail?: string;
}

export interface StopProgress extends StopPlan {
  status: StopStatus;
  arrivedAt?: string;
  departedAt?: string;
  eta?: string;
}

/** The shipment as clients see it: the v1 API's shipment state. */
export interface ShipmentView extends Assignment {
  id: string;
  reference: string;
  status: ShipmentStatus;
  createdAt: string;
  updatedAt?: string;
  workflowId: string;
  stops: StopProgress[];
  route?: LineString;
  lastPosition?: Fix;
  eta?: string;
  anomalies: Anomaly[];
  milestones: Milestone[];
  cancellation?: { reason: string; at: string };
  /** What the workflow did with the fixes it received (live state only; absent from the projection). */
  fixCounts?: FixCounts;
}

export interface FixCounts {
  /** Fixes that drove the rules, once each (late ones included). */
  applied: number;
  /** Repeats of a fix already received (same recordedAt). */
  duplicates: number;
  /** Older than the newest fix applied when they arrived: decided again from a checkpoint. */
  late: number;
  /** Too late to change a decision (beyond the re-evaluation horizon, or after delivery/cancellation): kept in the track only. */
  ignored: number;
  /** Re-evaluations run for late fixes. */
  rewinds: number;
}
