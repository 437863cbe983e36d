// What every route sees: dependencies, configuration and per-request variables.
import type { Kysely } from 'kysely';
import type { Client } from '@temporalio/client';
import type { Database } from '../db/schema.js';
import type { Logger } from '../infra/logger.js';
import type { Env } from '../infra/env.js';
import { DEFAULT_WORKFLOW_SETTINGS, SHIPMENT_TASK_QUEUE } from '../workflows/contract.js';
import { DEFAULT_API_KEY_SETTINGS, type ApiKeyService, type ApiKeySettings, type AuthContext } from './auth.js';
import type { SignalOutbox } from './signal-outbox.js';

export interface ApiConfig {
  taskQueue: string;
  /** Fixes further than this in the future are rejected. */
  maxClockSkewSeconds: number;
  deliveryGraceMs: number;
  maxSignalsPerRun: number;
  /** How long GET /v1/shipments/:id waits for the workflow's query before answering from the projection. */
  queryTimeoutMs: number;
  /** How long a cancel waits for the workflow to accept or reject the update. */
  updateTimeoutMs: number;
  bodyLimitBytes: number;
  apiKeys: ApiKeySettings;
}

export const DEFAULT_API_CONFIG: ApiConfig = {
  taskQueue: SHIPMENT_TASK_QUEUE,
  maxClockSkewSeconds: 120,
  deliveryGraceMs: DEFAULT_WORKFLOW_SETTINGS.deliveryGraceMs,
  maxSignalsPerRun: DEFAULT_WORKFLOW_SETTINGS.maxSignalsPerRun,
  queryTimeoutMs: 3_000,
  updateTimeoutMs: 15_000,
  // 1,000 fixes with every optional field are ~200 kB of JSON.
  bodyLimitBytes: 1024 * 1024,
  apiKeys: DEFAULT_API_KEY_SETTINGS,
};

export function apiConfigFromEnv(env: Env): ApiConfig {
  return {
    ...DEFAULT_API_CONFIG,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    maxClockSkewSeconds: env.MAX_CLOCK_SKEW_SECONDS,
    deliveryGraceMs: env.DELIVERY_GRACE_MINUTES * 60_000,
    apiKeys: {
      cacheTtlMs: env.API_KEY_CACHE_TTL_SECONDS * 1000,
      touchIntervalMs: env.API_KEY_LAST_USED_INTERVAL_SECONDS * 1000,
      rateLimitPerSecond: env.API_KEY_RATE_LIMIT_PER_SECOND,
      rateLimitBurst: env.API_KEY_RATE_LIMIT_BURST,
      failedAuthBurst: env.API_KEY_FAILED_AUTH_BURST,
      failedAuthPerMinute: env.API_KEY_FAILED_AUTH_PER_MINUTE,
    },
  };
}

export interface AppDeps {
  db: Kysely<Database>;
  temporal: Client;
  logger: Logger;
  config?: Partial<Omit<ApiConfig, 'apiKeys'>> & { apiKeys?: Partial<ApiKeySettings> };
  /** Defaults to an outbox signalling through `temporal`; tests inject one to simulate failures. */
  outbox?: SignalOutbox;
  /** Key verification cache, rate limits and lastUsedAt batching; defaults to one built from `config.apiKeys`. */
  keys?: ApiKeyService;
}

export interface RouteDeps {
  db: Kysely<Database>;
  temporal: Client;
  config: ApiConfig;
  outbox: SignalOutbox;
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
  };
}
