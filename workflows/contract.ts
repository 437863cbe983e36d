// The shipment workflow's public contract: everything a client (API, tests, operators) needs
// to talk to it. Kept in one file in the style of Temporal's reference apps.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
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

export interface FixBatch {
  fixes: Fix[];
}

export interface CancelRequest {
  reason: string;
  /** Who asked (API key id or operator), kept in the timeline. */
  actor?: string;
}

export const fixesReceivedSignal = defineSignal<[FixBatch]>('fixesReceived');
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

export const searchAttributes = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  shipmentReference: defineSearchAttributeKey('ShipmentReference', SearchAttributeType.KEYWORD),
  shipmentStatus: defineSearchAttributeKey('ShipmentStatus', SearchAttributeType.KEYWORD),
  carrierId: defineSearchAttributeKey('CarrierId', SearchAttributeType.KEYWORD),
  openAnomalies: defineSearchAttributeKey('OpenAnomalies', SearchAttributeType.KEYWORD_LIST),
  nextEta: defineSearchAttributeKey('NextEta', SearchAttributeType.DATETIME),
} as const;

/** `name=Type` pairs for `temporal server start-dev --search-attribute` and operator setup. */
export const SEARCH_ATTRIBUTE_REGISTRATIONS: readonly string[] = [
  'TenantId=Keyword',
  'ShipmentReference=Keyword',
  'ShipmentStatus=Keyword',
  'CarrierId=Keyword',
  'OpenAnomalies=KeywordList',
  'NextEta=Datetime',
];

export interface ShipmentWorkflowSettings {
  /** How long the workflow stays open after delivery for late fixes and proof of delivery. */
  deliveryGraceMs: number;
  /** Continue-as-new after this many signals in one run (the server refuses signals past 10,000 per run). */
  maxSignalsPerRun: number;
}

export const DEFAULT_WORKFLOW_SETTINGS: ShipmentWorkflowSettings = {
  deliveryGraceMs: 24 * 60 * 60 * 1000,
  maxSignalsPerRun: 2_000,
};

export interface ShipmentWorkflowInput {
  plan: ShipmentPlan;
  settings: ShipmentWorkflowSettings;
  /** The tenant's stored anomaly thresholds; the plan's own `thresholds` override them field by field. */
  tenantAnomalyDefaults?: ShipmentThresholds;
  /** Present only when the workflow continued as new: the compact state and fixes not yet processed. */
  carried?: unknown;
}
