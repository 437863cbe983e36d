// What every route sees: dependencies, configuration and per-request variables.
import type { Kysely } from 'kysely';
import type { Client } from '@temporalio/client';
import type { Database } from '../db/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Env } from '../infra/env.js';
import { DEFAULT_WORKFLOW_SETTINGS, SHIPMENT_TASK_QUEUE } from '../workflows/contract.js';
import { DEFAULT_API_KEY_SETTINGS, type ApiKeyService, type ApiKeySettings, type AuthContext } from './auth.js';
import type { FixIngest } from './fix-ingest.js';
import type { ShipmentStreamHub } from './shipment-stream-hub.js';
import { DEFAULT_WEBHOOK_HTTP_POLICY, type WebhookHttpPolicy } from '../infra/webhook-http.js';
import { DEFAULT_WEBHOOK_DELIVERY_SETTINGS, WEBHOOK_TASK_QUEUE, type WebhookDeliverySettings } from '../workflows/webhook-contract.js';

export interface ApiConfig {
  taskQueue: string;
  /** Fixes further than this in the future are rejected. */
  maxClockSkewSeconds: number;
  /** Fixes recorded before the first month POSITIONS_RETENTION_MONTHS keeps are rejected (0: none are). */
  positionsRetentionMonths: number;
  deliveryGraceMs: number;
  maxSignalsPerRun: number;
  /** How long GET /v1/shipments/:id waits for the workflow's query before answering from the projection. */
  queryTimeoutMs: number;
  /** How long a cancel waits for the workflow to accept or reject the update. */
  updateTimeoutMs: number;
  bodyLimitBytes: number;
  apiKeys: ApiKeySettings;
  console: ConsoleSettings;
  webhooks: WebhookSettings;
}

export interface WebhookSettings {
  /** Where the delivery workflows run. */
  taskQueue: string;
  /** URL rules for endpoints and the test ping (the worker applies the same to deliveries). */
  http: WebhookHttpPolicy;
  /** Given to each endpoint's delivery workflow when it starts. */
  delivery: WebhookDeliverySettings;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = { taskQueue: WEBHOOK_TASK_QUEUE, http: DEFAULT_WEBHOOK_HTTP_POLICY, delivery: DEFAULT_WEBHOOK_DELIVERY_SETTINGS };

export interface ConsoleSettings {
  /** How long a console sign-in lasts. */
  sessionTtlMs: number;
  /** A MapLibre style URL for a real vector-tile basemap; unset keeps the offline Natural Earth outlines. */
  mapStyleUrl?: string;
  /** Open live streams (GET /v1/shipments/:id/stream) allowed per API key in one API process. */
  maxStreamsPerKey: number;
  /** How often the process's one poller reads new changes for every open stream. */
  streamPollMs: number;
}

export const DEFAULT_CONSOLE_SETTINGS: ConsoleSettings = {
  sessionTtlMs: 12 * 3600_000,
  maxStreamsPerKey: 20,
  streamPollMs: 1_000,
};

export const DEFAULT_API_CONFIG: ApiConfig = {
  taskQueue: SHIPMENT_TASK_QUEUE,
  maxClockSkewSeconds: 120,
  positionsRetentionMonths: 0,
  deliveryGraceMs: DEFAULT_WORKFLOW_SETTINGS.deliveryGraceMs,
  maxSignalsPerRun: DEFAULT_WORKFLOW_SETTINGS.maxSignalsPerRun,
  queryTimeoutMs: 3_000,
  updateTimeoutMs: 15_000,
  // 1,000 fixes with every optional field are ~200 kB of JSON.
  bodyLimitBytes: 1024 * 1024,
  apiKeys: DEFAULT_API_KEY_SETTINGS,
  console: DEFAULT_CONSOLE_SETTINGS,
  webhooks: DEFAULT_WEBHOOK_SETTINGS,
};

export function apiConfigFromEnv(env: Env): ApiConfig {
  return {
    ...DEFAULT_API_CONFIG,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    maxClockSkewSeconds: env.MAX_CLOCK_SKEW_SECONDS,
    positionsRetentionMonths: env.POSITIONS_RETENTION_MONTHS,
    deliveryGraceMs: env.DELIVERY_GRACE_MINUTES * 60_000,
    apiKeys: {
      cacheTtlMs: env.API_KEY_CACHE_TTL_SECONDS * 1000,
      touchIntervalMs: env.API_KEY_LAST_USED_INTERVAL_SECONDS * 1000,
      rateLimitPerSecond: env.API_KEY_RATE_LIMIT_PER_SECOND,
      rateLimitBurst: env.API_KEY_RATE_LIMIT_BURST,
      failedAuthBurst: env.API_KEY_FAILED_AUTH_BURST,
      failedAuthPerMinute: env.API_KEY_FAILED_AUTH_PER_MINUTE,
    },
    console: {
      ...DEFAULT_CONSOLE_SETTINGS,
      sessionTtlMs: env.CONSOLE_SESSION_HOURS * 3600_000,
      maxStreamsPerKey: env.STREAMS_PER_KEY_MAX,
      ...(env.MAP_STYLE_URL ? { mapStyleUrl: env.MAP_STYLE_URL } : {}),
    },
    webhooks: {
      taskQueue: env.TEMPORAL_WEBHOOK_TASK_QUEUE,
      http: { ...DEFAULT_WEBHOOK_HTTP_POLICY, allowedHosts: env.WEBHOOK_ALLOWED_HOSTS },
      delivery: {
        ...DEFAULT_WEBHOOK_DELIVERY_SETTINGS,
        retryWindowMs: env.WEBHOOK_RETRY_WINDOW_HOURS * 3_600_000,
        maxBackoffMs: env.WEBHOOK_MAX_BACKOFF_SECONDS * 1000,
        initialBackoffMs: Math.min(DEFAULT_WEBHOOK_DELIVERY_SETTINGS.initialBackoffMs, env.WEBHOOK_MAX_BACKOFF_SECONDS * 1000),
      },
    },
  };
}

export interface AppDeps {
  db: Kysely<Database>;
  temporal: Client;
  logger: Logger;
  config?: Partial<Omit<ApiConfig, 'apiKeys' | 'console' | 'webhooks'>> & { apiKeys?: Partial<ApiKeySettings>; console?: Partial<ConsoleSettings>; webhooks?: Partial<WebhookSettings> };
  /** Defaults to one waking workflows through `temporal`; tests inject one to simulate failures. */
  ingest?: FixIngest;
  /** Key verification cache, rate limits and lastUsedAt batching; defaults to one built from `config.apiKeys`. */
  keys?: ApiKeyService;
  /** The poller behind every live shipment stream; main.ts passes one so shutdown can end the streams. */
  streams?: ShipmentStreamHub;
}

export interface RouteDeps {
  db: Kysely<Database>;
  temporal: Client;
  config: ApiConfig;
  ingest: FixIngest;
  keys: ApiKeyService;
}

/** Fields added to the request's log line once known. */
export interface LogFields {
  tenantId?: string;
  keyId?: string;
  shipmentId?: string;
  workflowId?: string;
}

export interface AppEnv {
  Variables: {
    auth: AuthContext;
    logger: Logger;
    logFields: LogFields;
    /** Whether the caller's credential (key or console session) is still valid: long streams re-check it. */
    recheckAuth: () => Promise<boolean>;
  };
}
