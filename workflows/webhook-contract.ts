// The webhook delivery workflow's public contract: one long-lived workflow per endpoint.
import { defineSignal } from '@temporalio/workflow';
import type { Failing, RetrySettings } from '../domain/events/retry.js';
import type * as workflows from './index.js';

export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow' satisfies keyof typeof workflows;
/** Deliveries have a task queue of their own, so endpoints waiting on the network never hold the shipments' activity slots. */
export const WEBHOOK_TASK_QUEUE = 'webhooks';

export function webhookWorkflowId(tenantId: string, endpointId: string): string {
  return `webhook/${tenantId}/${endpointId}`;
}

/** The endpoint changed (URL, secret, types, enabled, a replay): retry now rather than after the back-off. */
export const endpointChangedSignal = defineSignal('endpointChanged');

export interface WebhookDeliverySettings extends RetrySettings {
  /** How long one delivery activity waits for new events before it returns idle. */
  idleWaitMs: number;
  /** Continue-as-new after this many activity results in one run. */
  maxStepsPerRun: number;
}

export const DEFAULT_WEBHOOK_DELIVERY_SETTINGS: WebhookDeliverySettings = {
  initialBackoffMs: 5_000,
  maxBackoffMs: 3_600_000,
  retryWindowMs: 3 * 24 * 3_600_000,
  idleWaitMs: 20_000,
  maxStepsPerRun: 500,
};

export interface WebhookDeliveryInput {
  tenantId: string;
  endpointId: string;
  settings: WebhookDeliverySettings;
  /** Carried over continue-as-new: the event that keeps failing. */
  failing?: Failing;
}

export interface DeliveryRequest {
  tenantId: string;
  endpointId: string;
  idleWaitMs: number;
}

/** What one delivery activity did: delivered some (or nothing new came), met a failure, or found the endpoint gone or disabled. */
export type DeliveryStep =
  | { kind: 'delivered'; delivered: number }
  | { kind: 'failed'; delivered: number; eventId: string; status?: number; error?: string }
  | { kind: 'stopped'; reason: string };
