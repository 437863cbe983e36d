// The event catalogue: what the outside world (the feed, webhooks) is told, one stable shape per
// type, mapped from timeline rows (shipment_events). Corrections are events too: a milestone whose
// time a re-evaluation moved is a new stop.arrived/departed with `corrected` and the id of the event
// it supersedes; one it no longer finds is a stop.milestone_retracted. Nothing is ever rewritten.
import type { TimelineEventType } from '../timeline.js';

export const EVENT_TYPES = [
  'shipment.created',
  'shipment.status_changed',
  'shipment.delivered',
  'shipment.cancelled',
  'stop.arrived',
  'stop.departed',
  'stop.passed',
  'stop.milestone_retracted',
  'anomaly.opened',
  'anomaly.resolved',
  'anomaly.retracted',
  'eta.changed',
  'delivery_event.recorded',
  'assignment.changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (value: string): value is EventType => (EVENT_TYPES as readonly string[]).includes(value);

/** Timeline types as the catalogue names them (ASSIGNMENT_CHANGED is written by the assignment activity). */
const CATALOGUE_TYPE: Record<TimelineEventType | 'ASSIGNMENT_CHANGED', EventType> = {
  SHIPMENT_CREATED: 'shipment.created',
  STATUS_CHANGED: 'shipment.status_changed',
  DELIVERED: 'shipment.delivered',
  CANCELLED: 'shipment.cancelled',
  ARRIVED: 'stop.arrived',
  DEPARTED: 'stop.departed',
  GEOFENCE_PASSED: 'stop.passed',
  MILESTONE_RETRACTED: 'stop.milestone_retracted',
  ANOMALY_OPENED: 'anomaly.opened',
  ANOMALY_RESOLVED: 'anomaly.resolved',
  ANOMALY_RETRACTED: 'anomaly.retracted',
  ETA_CHANGED: 'eta.changed',
  PROOF_OF_DELIVERY: 'delivery_event.recorded',
  EXCEPTION: 'delivery_event.recorded',
  MANUAL_ARRIVAL: 'delivery_event.recorded',
  MANUAL_DEPARTURE: 'delivery_event.recorded',
  ASSIGNMENT_CHANGED: 'assignment.changed',
};

/** The catalogue type of a timeline row's type; an unknown type (a newer writer) counts as a delivery event. */
export function catalogueType(timelineType: string): EventType {
  return CATALOGUE_TYPE[timelineType as keyof typeof CATALOGUE_TYPE] ?? 'delivery_event.recorded';
}

/** One feed row as the repository reads it: the timeline row, its feed position and the shipment's reference. */
export interface FeedRow {
  id: string;
  seq: string;
  tenantId: string;
  shipmentId: string;
  shipmentReference: string;
  timelineType: string;
  occurredAt: string;
  recordedAt: string;
  stopSequence: number | null;
  data: Record<string, unknown>;
  actor: string | null;
  /** Public id of the event a correction or retraction supersedes, when that event is in the feed. */
  supersedesEventId: string | null;
}

export interface CatalogueEvent {
  id: string;
  type: EventType;
  /** Position in the tenant's feed: resume after it with `after=`. */
  cursor: string;
  tenantId: string;
  shipmentId: string;
  shipmentReference: string;
  /** When it happened (the fix time for milestones and anomalies). */
  occurredAt: string;
  /** When the platform recorded it. */
  recordedAt: string;
  data: Record<string, unknown>;
}

type Data = Record<string, unknown>;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** Keeps only defined values, so optional fields are absent rather than null. */
function defined(fields: Data): Data {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function stop(row: FeedRow): Data {
  return { stopSequence: row.stopSequence ?? undefined, stopName: str(row.data.stopName), stopType: str(row.data.stopType) };
}

function correction(row: FeedRow): Data {
  return { corrected: row.data.corrected === true, supersedesEventId: row.supersedesEventId ?? undefined, previousAt: str(row.data.previousAt) };
}

function assignment(value: unknown): Data {
  const a = (value && typeof value === 'object' ? value : {}) as Data;
  return defined({ carrierId: str(a.carrierId), vehicleId: str(a.vehicleId), driverId: str(a.driverId), deviceId: str(a.deviceId) });
}

const DATA: Record<EventType, (row: FeedRow) => Data> = {
  'shipment.created': (row) => ({ stops: num(row.data.stops) }),
  'shipment.status_changed': (row) => ({ from: str(row.data.from), to: str(row.data.to), ...stop(row), corrected: row.data.corrected === true }),
  'shipment.delivered': (row) => ({ from: str(row.data.from), ...stop(row), corrected: row.data.corrected === true }),
  'shipment.cancelled': (row) => ({ from: str(row.data.from), reason: str(row.data.reason), actor: row.actor ?? undefined }),
  'stop.arrived': (row) => ({ ...stop(row), position: position(row), ...correction(row) }),
  'stop.departed': (row) => ({ ...stop(row), position: position(row), ...correction(row) }),
  'stop.passed': (row) => ({ ...stop(row), enteredAt: str(row.data.enteredAt), exitedAt: str(row.data.exitedAt), fixesInside: num(row.data.fixesInside) }),
  'stop.milestone_retracted': (row) => ({ milestone: str(row.data.milestone), ...stop(row), supersedesEventId: row.supersedesEventId ?? undefined }),
  'anomaly.opened': (row) => anomaly(row),
  'anomaly.resolved': (row) => anomaly(row),
  'anomaly.retracted': (row) => ({ ...anomaly(row), resolvedAt: str(row.data.resolvedAt) }),
  'eta.changed': (row) => ({ ...stop(row), eta: str(row.data.eta), previousEta: str(row.data.previousEta), deltaMin: num(row.data.deltaMin) }),
  'delivery_event.recorded': (row) => ({
    kind: row.timelineType,
    eventId: str(row.data.eventId),
    ...stop(row),
    signedBy: str(row.data.signedBy),
    documentUrl: str(row.data.documentUrl),
    exceptionCode: str(row.data.exceptionCode),
    note: str(row.data.note),
    actor: row.actor ?? undefined,
  }),
  'assignment.changed': (row) => ({ from: assignment(row.data.from), to: assignment(row.data.to), actor: row.actor ?? undefined }),
};

function position(row: FeedRow): Data | undefined {
  const lat = num(row.data.lat);
  const lon = num(row.data.lon);
  return lat === undefined || lon === undefined ? undefined : { lat, lon };
}

function anomaly(row: FeedRow): Data {
  return { anomaly: str(row.data.anomaly), stopSequence: row.stopSequence ?? undefined, stopName: str(row.data.stopName), detail: str(row.data.detail) };
}

export function toCatalogueEvent(row: FeedRow): CatalogueEvent {
  const type = catalogueType(row.timelineType);
  return {
    id: row.id,
    type,
    cursor: row.seq,
    tenantId: row.tenantId,
    shipmentId: row.shipmentId,
    shipmentReference: row.shipmentReference,
    occurredAt: row.occurredAt,
    recordedAt: row.recordedAt,
    data: defined(DATA[type](row)),
  };
}
