// Configuration comes from environment variables only, validated once at start-up.
import { z } from 'zod';
import { SHIPMENT_TASK_QUEUE } from '../workflows/contract.js';
import { WEBHOOK_TASK_QUEUE } from '../workflows/webhook-contract.js';

const envSchema = z.object({
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/postgres'),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(SHIPMENT_TASK_QUEUE),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long a delivered shipment's workflow stays open for late fixes and proof of delivery. */
  DELIVERY_GRACE_MINUTES: z.coerce.number().min(0).default(24 * 60),
  /** Tolerated device clock skew: fixes further in the future are rejected. */
  MAX_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).default(120),
  /** Per API key token bucket: sustained requests per second (0 disables) and burst. */
  API_KEY_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(200),
  API_KEY_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(400),
  /** Failed authentications tolerated per existing key id before 429, and how many more are allowed per minute. */
  API_KEY_FAILED_AUTH_BURST: z.coerce.number().int().min(1).default(10),
  API_KEY_FAILED_AUTH_PER_MINUTE: z.coerce.number().positive('API_KEY_FAILED_AUTH_PER_MINUTE must be above 0').default(10),
  /** How long a verified key is trusted in-process; revocations also arrive at once through Postgres NOTIFY. */
  API_KEY_CACHE_TTL_SECONDS: z.coerce.number().min(0).default(30),
  /** lastUsedAt of a key is written at most this often. */
  API_KEY_LAST_USED_INTERVAL_SECONDS: z.coerce.number().min(0).default(60),
  /** The worker resets shipments stuck on a nondeterminism error this often (0 turns it off). */
  REPAIR_INTERVAL_SECONDS: z.coerce.number().min(0).default(60),
  /**
   * Worker tuning (bench/recovery.ts measures them): workflows kept in the sticky cache (a cached
   * one needs no replay), workflow tasks run at once, and the threads that run workflow code.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(2_000),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS must be at least 2').default(8),
  WORKER_WORKFLOW_THREADS: z.coerce.number().int().min(1).max(16).default(2),
  /**
   * How long fixes inside a shipment's calm zone (far from every stop, well inside the route
   * corridor) may wait before their workflow reads them; 0 wakes the workflow on every upload.
   */
  INGEST_DEFER_MS: z.coerce.number().int().min(0).max(300_000, 'INGEST_DEFER_MS must be at most 300000 (5 minutes)').default(30_000),
  /** Worker processes `npm start` runs (compose scales the `worker` service instead). */
  WORKER_PROCESSES: z.coerce.number().int().min(1, 'WORKER_PROCESSES must be at least 1').max(32).default(1),
  /** A MapLibre style for the console's maps (vector tiles); unset draws the offline Natural Earth outlines. */
  MAP_STYLE_URL: z
    .string()
    .url('MAP_STYLE_URL must be an http(s) URL of a MapLibre style JSON')
    .refine((value) => /^https?:\/\//.test(value), 'MAP_STYLE_URL must use http or https')
    .optional(),
  /** How long a web console sign-in lasts. */
  CONSOLE_SESSION_HOURS: z.coerce.number().positive('CONSOLE_SESSION_HOURS must be positive').max(24 * 30).default(12),
  /** Open live shipment streams per API key and API process. */
  STREAMS_PER_KEY_MAX: z.coerce.number().int().min(1).default(20),
  /** Task queue of the webhook delivery workflows and their activities (a worker polls both queues). */
  TEMPORAL_WEBHOOK_TASK_QUEUE: z.string().min(1).default(WEBHOOK_TASK_QUEUE),
  /** Hosts a webhook URL may name over plain http and that may resolve to private addresses (comma-separated). */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((host) => host.trim().toLowerCase()).filter((host) => host.length > 0)),
  /**
   * positions is partitioned by month of fix time: months kept (the current one and this many
   * before it; 0 keeps every month), months created ahead, and how often the worker maintains them
   * (0 turns the job off; partitions are also ensured after every migration run).
   */
  POSITIONS_RETENTION_MONTHS: z.coerce.number().int().min(0).max(1200).default(0),
  POSITIONS_PARTITION_MONTHS_AHEAD: z.coerce.number().int().min(1).max(24).default(3),
  POSITIONS_MAINTENANCE_INTERVAL_MINUTES: z.coerce.number().min(0).max(7 * 24 * 60).default(60),
  /** Only exports written to this folder (absolute, as `npm run export --out` resolves it) let retention drop a month; unset: any export. */
  POSITIONS_RETENTION_EXPORT_DESTINATION: z.string().min(1).optional(),
  /** How long one event may keep failing before its endpoint is disabled. */
  WEBHOOK_RETRY_WINDOW_HOURS: z.coerce.number().positive('WEBHOOK_RETRY_WINDOW_HOURS must be above 0').default(72),
  /** The longest wait between two attempts of a failing event (the back-off doubles from 5 s up to this). */
  WEBHOOK_MAX_BACKOFF_SECONDS: z.coerce.number().min(1).default(3600),
  /** How often the scheduled ETA history refresh runs (the worker creates or updates its Temporal Schedule; 0: this worker leaves it alone). */
  ETA_HISTORY_REFRESH_MINUTES: z.coerce.number().int().min(0).max(7 * 24 * 60).default(360),
  /** Delivered shipments a tenant's learned figures must stand on before the ETA uses them (below: today's model). */
  ETA_HISTORY_MIN_SHIPMENTS: z.coerce.number().int().min(1, 'ETA_HISTORY_MIN_SHIPMENTS must be at least 1').default(20),
  /** Most recently delivered shipments per tenant a refresh learns from. */
  ETA_HISTORY_MAX_SHIPMENTS: z.coerce.number().int().min(1).max(100_000).default(500),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment or exits with a message naming every bad variable. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
