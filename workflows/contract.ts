// The shipment workflow's public contract: everything a client (API, tests, operators) needs
// to talk to it. Kept in one file in the style of Temporal's reference apps.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { EncodedFixes } from '../domain/fix-codec.js';
import type { CalmZone } from '../domain/shipment/calm-zone.js';
import type { Fix, ShipmentPlan, ShipmentThresholds, ShipmentView } from '../domain/types.js';
import type * as shipmentWorkflows from './index.js';

/** The workflow type clients start by name; `satisfies` keeps it the name of a registered workflow. */
export const SHIPMENT_WORKFLOW_TYPE = 'shipmentWorkflow' satisfies keyof typeof shipmentWorkflows;
/** The default task queue of the worker and the API (TEMPORAL_TASK_QUEUE overrides it). */
export const SHIPMENT_TASK_QUEUE = 'shipments';

/** Business-keyed id: a repeated create for the same shipment can never start a second workflow. */
export function shipmentWorkflowId(tenantId: string, shipmentId: string): string {
  return `shipment/${tenantId}/${shipmentId}`;
}

/** Fixes sent in the signal itself: how the v1 API delivered them; still accepted, but the store is the source. */
export interface FixBatch {
  fixes: Fix[];
}

/**
 * A wake-up: the shipment's fixes up to this per-shipment sequence are stored in Postgres. The
 * workflow reads them itself (an activity), so the signal stays tiny and many requests share one.
 */
export interface FixesStored {
  upToSeq: number;
}

export interface CancelRequest {
  reason: string;
  /** Who asked (API key id or operator), kept in the timeline. */
  actor?: string;
}

export const fixesReceivedSignal = defineSignal<[FixBatch]>('fixesReceived');
export const fixesStoredSignal = defineSignal<[FixesStored]>('fixesStored');
export const shipmentStateQuery = defineQuery<ShipmentView>('shipmentState');
export const cancelShipmentUpdate = defineUpdate<ShipmentView, [CancelRequest]>('cancelShipment');

/** ApplicationFailure types the cancel Update is rejected with; the API answers 409. */
export const CANCEL_FAILURES = {
  alreadyDelivered: 'ShipmentAlreadyDelivered',
  invalid: 'InvalidCancelRequest',
} as const;

/** A change of the shipment's fleet assignment: absent fields stay as they are, null clears one. */
export interface AssignmentChange {
  carrierId?: string | null;
  vehicleId?: string | null;
  driverId?: string | null;
  deviceId?: string | null;
  /** Who asked (API key id), kept in the timeline. */
  actor?: string;
}

export const updateAssignmentUpdate = defineUpdate<ShipmentView, [AssignmentChange]>('updateAssignment');

/** ApplicationFailure types the assignment Update fails with; the API maps them to 409 and 422. */
export const ASSIGNMENT_FAILURES = {
  closed: 'ShipmentClosed',
  unknownFleetReference: 'UnknownFleetReference',
  invalid: 'InvalidAssignment',
} as const;

export const DELIVERY_EVENT_TYPES = ['PROOF_OF_DELIVERY', 'EXCEPTION', 'MANUAL_ARRIVAL', 'MANUAL_DEPARTURE'] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

/** Something a person reports about the delivery: a driver app, a dispatcher, a consignee's POD. */
export interface DeliveryEvent {
  /** The client's idempotency key: the same id recorded twice changes nothing. */
  eventId: string;
  type: DeliveryEventType;
  /** When it happened (ISO-8601), as reported. */
  at: string;
  /** The stop it concerns; proof of delivery defaults to the last stop. */
  stopSequence?: number;
  note?: string;
  /** Proof of delivery: who signed and where the signed document lives. */
  signedBy?: string;
  documentUrl?: string;
  /** Exception: a short code such as DAMAGED, REFUSED, SHORT_SHIPPED. */
  exceptionCode?: string;
  actor?: string;
}

export const recordDeliveryEventUpdate = defineUpdate<ShipmentView, [DeliveryEvent]>('recordDeliveryEvent');

/** The ApplicationFailure type of a delivery event the shipment cannot take now; the API answers 409. */
export const DELIVERY_EVENT_REFUSED = 'DeliveryEventRefused';

/** What the load activity is asked for: fixes after the workflow's mark. */
export interface FixLoadRequest {
  tenantId: string;
  shipmentId: string;
  /** The workflow's mark; absent after the v1 handover: start from the ingest row's own. */
  afterSeq?: number;
  limit: number;
  /** Where fixes may wait for a deferred wake-up (domain/shipment/calm-zone.ts); absent: every fix wakes the workflow. */
  calmZone?: CalmZone;
}

export interface FixLoad {
  fixes: EncodedFixes;
  upToSeq: number;
  more: boolean;
}

/** A re-evaluation's read: every loaded fix after a fix time. */
export interface FixRereadRequest {
  tenantId: string;
  shipmentId: string;
  /** Fix time the re-run starts after; absent: from the first fix. */
  after?: string;
  maxSeq: number;
  limit: number;
}

export interface FixReread {
  fixes: EncodedFixes;
  truncated: boolean;
}

/** The ApplicationFailure type of a projection write Postgres refuses for good (never retried). */
export const PROJECTION_WRITE_REJECTED = 'ProjectionWriteRejected';


export const searchAttributes = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  shipmentReference: defineSearchAttributeKey('ShipmentReference', SearchAttributeType.KEYWORD),
  shipmentStatus: defineSearchAttributeKey('ShipmentStatus', SearchAttributeType.KEYWORD),
  carrierId: defineSearchAttributeKey('CarrierId', SearchAttributeType.KEYWORD),
  openAnomalies: defineSearchAttributeKey('OpenAnomalies', SearchAttributeType.KEYWORD_LIST),
  nextEta: defineSearchAttributeKey('NextEta', SearchAttributeType.DATETIME),
  /** What keeps the shipment's outputs from being current, e.g. PROJECTION_WRITE_FAILING; empty when all is well. */
  trackingProblems: defineSearchAttributeKey('TrackingProblems', SearchAttributeType.KEYWORD_LIST),
} as const;

/** `name=Type` pairs for `temporal server start-dev --search-attribute` and operator setup. */
export const SEARCH_ATTRIBUTE_REGISTRATIONS: readonly string[] = [
  'TenantId=Keyword',
  'ShipmentReference=Keyword',
  'ShipmentStatus=Keyword',
  'CarrierId=Keyword',
  'OpenAnomalies=KeywordList',
  'NextEta=Datetime',
  'TrackingProblems=KeywordList',
];

export interface ShipmentWorkflowSettings {
  /** How long the workflow stays open after delivery for late fixes and proof of delivery. */
  deliveryGraceMs: number;
  /** Continue-as-new after this many signals in one run (the server refuses signals past 10,000 per run). */
  maxSignalsPerRun: number;
  /**
   * Continue-as-new once a run's history is this long or this large: what a worker replays after a
   * restart or a cache eviction, so it bounds recovery time (bench/replay.ts measures it).
   */
  maxHistoryEventsPerRun: number;
  maxHistoryBytesPerRun: number;
}

export const DEFAULT_WORKFLOW_SETTINGS: ShipmentWorkflowSettings = {
  deliveryGraceMs: 24 * 60 * 60 * 1000,
  maxSignalsPerRun: 2_000,
  maxHistoryEventsPerRun: 100,
  maxHistoryBytesPerRun: 256 * 1024,
};

export interface ShipmentWorkflowInput {
  plan: ShipmentPlan;
  /** Older starts carry only the first two fields; the rest take their defaults. */
  settings: Partial<ShipmentWorkflowSettings> & Pick<ShipmentWorkflowSettings, 'deliveryGraceMs' | 'maxSignalsPerRun'>;
  /** The tenant's stored anomaly thresholds; the plan's own `thresholds` override them field by field. */
  tenantAnomalyDefaults?: ShipmentThresholds;
  /** Present only when the workflow continued as new: the compact state and fixes not yet processed. */
  carried?: unknown;
}
