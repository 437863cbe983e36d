// The shipment timeline (shipment_events) and the projection snapshot the workflow persists.
// Event keys are deterministic so a retried or replayed write inserts nothing twice.
import type { GeofencePassEvent } from './milestones.js';
import type { Anomaly, Fix, Milestone, MilestoneType, ShipmentStatus, StopStatus } from './types.js';

export const TIMELINE_EVENT_TYPES = [
  'SHIPMENT_CREATED',
  'STATUS_CHANGED',
  'ARRIVED',
  'DEPARTED',
  'GEOFENCE_PASSED',
  'DELIVERED',
  'CANCELLED',
  'ANOMALY_OPENED',
  'ANOMALY_RESOLVED',
  'PROOF_OF_DELIVERY',
  'EXCEPTION',
  'MANUAL_ARRIVAL',
  'MANUAL_DEPARTURE',
  'MILESTONE_RETRACTED',
  'ANOMALY_RETRACTED',
  'ETA_CHANGED',
] as const;
export type TimelineEventType = (typeof TIMELINE_EVENT_TYPES)[number];

export interface TimelineEvent {
  /** Unique per shipment: `SHIPMENT_CREATED`, `ARRIVED:2`, `DEPARTED:2`, `PASSED:3:<entered>`, `STATUS:3:AT_STOP`, `DELIVERED`, `CANCELLED`. */
  key: string;
  type: TimelineEventType;
  occurredAt: string;
  stopSequence?: number;
  data: Record<string, unknown>;
  actor?: string;
}

export const timelineEventKey = {
  created: (): string => 'SHIPMENT_CREATED',
  milestone: (type: MilestoneType, stopSequence: number): string => `${type}:${stopSequence}`,
  /** A stop can be passed several times before its visit: each pass is keyed by when it entered. */
  geofencePassed: (stopSequence: number, enteredAt: string): string => `PASSED:${stopSequence}:${enteredAt}`,
  /** `ordinal` counts status changes of the shipment: IN_TRANSIT ⇄ AT_STOP repeats, the key must not. */
  statusChanged: (ordinal: number, to: ShipmentStatus): string => `STATUS:${ordinal}:${to}`,
  delivered: (): string => 'DELIVERED',
  cancelled: (): string => 'CANCELLED',
  /** Keyed by the client's event id: a retried report is one row. */
  deliveryEvent: (eventId: string): string => `EVENT:${eventId}`,
};

/** A drive-by on the timeline: the stop, when the vehicle entered and left its geofence, how many fixes it had inside. */
export function geofencePassTimelineEvent(event: GeofencePassEvent, stopData: Record<string, unknown>): TimelineEvent {
  return {
    key: timelineEventKey.geofencePassed(event.stopSequence, event.at),
    type: 'GEOFENCE_PASSED',
    occurredAt: event.at,
    stopSequence: event.stopSequence,
    data: { ...stopData, enteredAt: event.at, exitedAt: event.exitedAt, fixesInside: event.fixesInside },
  };
}

export interface StopProjection {
  sequence: number;
  status: StopStatus;
  arrivedAt?: string;
  departedAt?: string;
  /** Latest predicted arrival while the stop is PENDING. */
  eta?: string;
}

/**
 * Everything the projection needs after a change, as one snapshot: the shipments and stops rows
 * are overwritten only when `version` is newer than what they hold; events are inserted by key.
 */
export interface ShipmentProgress {
  tenantId: string;
  shipmentId: string;
  /** Monotonic per shipment, kept in workflow state across continue-as-new. */
  version: number;
  status: ShipmentStatus;
  updatedAt: string;
  stops: StopProjection[];
  lastPosition?: Fix;
  cancellation?: { reason: string; at: string };
  /** Every anomaly episode so far (the `anomalies` jsonb); absent leaves the column as it is. */
  anomalies?: Anomaly[];
  /** Distinct open anomaly types (the `open_anomalies` array the list filter reads). */
  openAnomalies?: string[];
  /** Predicted arrival at the next pending stop; null once no stop is pending. */
  nextEta?: string | null;
  /** Milestones as decided now (corrections applied); absent leaves the column as it is. */
  milestones?: Milestone[];
  events: TimelineEvent[];
}
