// API keys: `rtk_<keyId>_<secret>`. The key id is public and the row's primary key; only the
// sha256 of the secret is stored, compared in constant time. The key itself is never logged.
//
// Verification is cached in-process so the positions hot path costs no database round trip.
// A revoke evicts the key at once in the revoking process and, through Postgres NOTIFY, in every
// other API process; a short TTL bounds staleness if a notification is ever missed, and while the
// LISTEN connection is down the cache is bypassed altogether.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { MiddlewareHandler } from 'hono';
import pg from 'pg';
import type { ApiKeyRole, ApiKeyRow, Database } from '../db/schema.js';
import { API_KEY_REVOKED_CHANNEL, findApiKey, insertApiKey, touchApiKeys } from '../db/repositories/tenants.js';
import type { Logger } from '../infra/logger.js';
import { ProblemError } from './problem.js';
import type { AppEnv } from './context.js';
import { sessionIdOf, type ConsoleSessions } from './sessions.js';

export const API_KEY_ROLES: readonly ApiKeyRole[] = ['admin', 'dispatcher', 'viewer', 'device'];
const KEY_PATTERN = /^rtk_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

export interface AuthContext {
  tenantId: string;
  keyId: string;
  role: ApiKeyRole;
  /** Set on device keys: the id of the one device (devices.id) the key speaks for. */
  deviceId?: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function generateApiKey(): { keyId: string; secret: string; apiKey: string } {
  const keyId = randomBytes(12).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, secret, apiKey: `rtk_${keyId}_${secret}` };
}

export function parseApiKey(apiKey: string): { keyId: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(apiKey);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

/** Creates a key for a tenant; the returned `apiKey` is the only time the secret exists in clear. */
export async function issueApiKey(
  db: Kysely<Database> | Transaction<Database>,
  input: { tenantId: string; role: ApiKeyRole; name?: string; deviceId?: string; createdByKeyId?: string },
): Promise<{ keyId: string; apiKey: string; role: ApiKeyRole; row: ApiKeyRow }> {
  const { keyId, secret, apiKey } = generateApiKey();
  const row = await insertApiKey(db, {
    id: keyId,
    tenantId: input.tenantId,
    role: input.role,
    name: input.name ?? `${input.role} key`,
    secretHash: hashSecret(secret),
    deviceId: input.deviceId,
    createdByKeyId: input.createdByKeyId,
  });
  return { keyId, apiKey, role: input.role, row };
}

// Compared when the key id is unknown so a miss costs the same as a wrong secret.
const DECOY_HASH = hashSecret('decoy');

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

interface KeyRecord {
  auth: AuthContext;
  secretHash: string;
  revoked: boolean;
}

function toRecord(row: ApiKeyRow): KeyRecord {
  return {
    auth: { tenantId: row.tenant_id, keyId: row.id, role: row.role, ...(row.device_id ? { deviceId: row.device_id } : {}) },
    secretHash: row.secret_hash,
    revoked: row.revoked_at !== null,
  };
}

function secretMatches(parsed: { secret: string }, record: KeyRecord | undefined): boolean {
  return sameHash(hashSecret(parsed.secret), record?.secretHash ?? DECOY_HASH);
}

function check(parsed: { secret: string }, record: KeyRecord | undefined): AuthContext | undefined {
  return record && secretMatches(parsed, record) && !record.revoked ? record.auth : undefined;
}

/** Uncached verification straight from the database (the admin CLI and tests use it). */
export async function verifyApiKey(db: Kysely<Database>, apiKey: string): Promise<AuthContext | undefined> {
  const parsed = parseApiKey(apiKey);
  if (!parsed) return undefined;
  const row = await findApiKey(db, parsed.keyId);
  return check(parsed, row && toRecord(row));
}

export interface ApiKeySettings {
  /** How long a verified key is trusted without asking the database (the safety net behind NOTIFY). */
  cacheTtlMs: number;
  /** lastUsedAt is written at most this often per key, in batches. */
  touchIntervalMs: number;
  /** Token bucket per key: sustained requests per second (0 disables the limit) and burst size. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** Failed authentications tolerated per existing key id (a bucket), and how fast it refills. */
  failedAuthBurst: number;
  failedAuthPerMinute: number;
}

export const DEFAULT_API_KEY_SETTINGS: ApiKeySettings = {
  cacheTtlMs: 30_000,
  touchIntervalMs: 60_000,
  rateLimitPerSecond: 200,
  rateLimitBurst: 400,
  failedAuthBurst: 10,
  failedAuthPerMinute: 10,
};

interface Bucket {
  tokens: number;
  at: number;
}

/** Adds the tokens earned since the bucket was last seen; returns the seconds until one is there, if none is. */
function refill(bucket: Bucket, burst: number, perSecond: number): number | undefined {
  const now = Date.now();
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
  bucket.at = now;
  return bucket.tokens >= 1 ? undefined : Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
}

/** Takes one token; returns the seconds to wait when the bucket is empty. */
function take(bucket: Bucket, burst: number, perSecond: number): number | undefined {
  const wait = refill(bucket, burst, perSecond);
  if (wait === undefined) bucket.tokens -= 1;
  return wait;
}

const CACHE_MAX_ENTRIES = 10_000;
const TOUCH_FLUSH_DELAY_MS = 1_000;
const LISTEN_RETRY_MAX_MS = 10_000;

/** A verified key, or why not: `retryAfterSeconds` once its key id has failed too often. */
export type KeyCheck = { auth: AuthContext; retryAfterSeconds?: undefined } | { auth?: undefined; retryAfterSeconds?: number };

export interface ApiKeyService {
  verify(apiKey: string): Promise<AuthContext | undefined>;
  /**
   * Like verify, with failed attempts throttled per existing key id: once its bucket is empty the
   * secret is not even compared until it refills, so guessing a key's secret is slowed to a trickle.
   */
  check(apiKey: string): Promise<KeyCheck>;
  /** Takes one token from the key's bucket; returns the seconds to wait when it is empty. */
  throttle(keyId: string): number | undefined;
  /** Forgets a key at once (called by the revoking process; NOTIFY does it elsewhere). */
  evict(keyId: string): void;
  /** Subscribes to revocations from every API process over a dedicated Postgres connection. */
  listen(connectionString: string): Promise<void>;
  /** Writes pending lastUsedAt updates now. */
  flushUsage(): Promise<void>;
  close(): Promise<void>;
}

export function createApiKeyService(options: {
  db: Kysely<Database>;
  logger: Logger;
  settings?: Partial<ApiKeySettings>;
  /** Called for every revocation notice received from Postgres (tests wait on it). */
  onRevocationNotice?: (keyId: string) => void;
}): ApiKeyService {
  const { db, logger } = options;
  const settings = { ...DEFAULT_API_KEY_SETTINGS, ...options.settings };
  const cache = new Map<string, { record: KeyRecord; expiresAt: number }>();
  const buckets = new Map<string, Bucket>();
  const failureBuckets = new Map<string, Bucket>();
  const lastTouched = new Map<string, number>();
  const pendingTouches = new Map<string, Date>();
  let touchTimer: NodeJS.Timeout | undefined;
  let touchFlush: Promise<void> = Promise.resolve();
  // Without a LISTEN connection (one process, tests) local eviction plus the TTL are enough; with
  // one configured, the cache is trusted only while that connection is up.
  let listener: { client: pg.Client | undefined; up: boolean; closed: boolean; retryMs: number } | undefined;

  const cacheTrusted = () => listener === undefined || listener.up;

  function remember(keyId: string, record: KeyRecord): void {
    if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(keyId, { record, expiresAt: Date.now() + settings.cacheTtlMs });
  }

  function recordUse(keyId: string): void {
    const now = Date.now();
    if (now - (lastTouched.get(keyId) ?? 0) < settings.touchIntervalMs) return;
    lastTouched.set(keyId, now);
    pendingTouches.set(keyId, new Date(now));
    touchTimer ??= setTimeout(() => void flushUsage(), TOUCH_FLUSH_DELAY_MS).unref();
  }

  function flushUsage(): Promise<void> {
    if (touchTimer) clearTimeout(touchTimer);
    touchTimer = undefined;
    const batch = new Map(pendingTouches);
    pendingTouches.clear();
    touchFlush = touchFlush.then(() =>
      touchApiKeys(db, batch).catch((error: unknown) => logger.warn({ err: error, keys: batch.size }, 'could not record API key use')),
    );
    return touchFlush;
  }

  function evict(keyId: string): void {
    cache.delete(keyId);
    buckets.delete(keyId);
    failureBuckets.delete(keyId);
  }

  async function lookup(keyId: string): Promise<KeyRecord | undefined> {
    const cached = cache.get(keyId);
    if (cached && cached.expiresAt > Date.now() && cacheTrusted()) return cached.record;
    const row = await findApiKey(db, keyId);
    const record = row && toRecord(row);
    if (record) remember(keyId, record);
    else cache.delete(keyId);
    return record;
  }

  async function checkKey(apiKey: string): Promise<KeyCheck> {
    const parsed = parseApiKey(apiKey);
    if (!parsed) return {};
    const failures = failureBuckets.get(parsed.keyId);
    const waitSeconds = failures && refill(failures, settings.failedAuthBurst, settings.failedAuthPerMinute / 60);
    if (waitSeconds) return { retryAfterSeconds: waitSeconds };
    const record = await lookup(parsed.keyId);
    const auth = check(parsed, record);
    if (auth) {
      recordUse(auth.keyId);
      return { auth };
    }
    // Only wrong secrets for ids of real keys count (a revoked key is refused, not guessed): the
    // map stays as small as the key table.
    if (record && !secretMatches(parsed, record)) {
      const bucket = failures ?? { tokens: settings.failedAuthBurst, at: Date.now() };
      failureBuckets.set(parsed.keyId, bucket);
      take(bucket, settings.failedAuthBurst, settings.failedAuthPerMinute / 60);
    }
    return {};
  }

  async function connectListener(connectionString: string): Promise<void> {
    const state = listener!;
    const client = new pg.Client({ connectionString });
    state.client = client;
    const lost = (error?: Error) => {
      if (state.closed || state.client !== client) return;
      state.up = false;
      state.client = undefined;
      cache.clear();
      logger.warn({ err: error, retryMs: state.retryMs }, 'API key revocation listener lost; verifying against Postgres until it is back');
      client.end().catch(() => undefined);
      setTimeout(() => void connectListener(connectionString).catch(() => lost()), state.retryMs).unref();
      state.retryMs = Math.min(LISTEN_RETRY_MAX_MS, state.retryMs * 2);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel !== API_KEY_REVOKED_CHANNEL || !message.payload) return;
      evict(message.payload);
      options.onRevocationNotice?.(message.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${API_KEY_REVOKED_CHANNEL}`);
    // Revocations sent while nobody listened are unknown: start from an empty cache.
    cache.clear();
    state.up = true;
    state.retryMs = 250;
  }

  return {
    async verify(apiKey) {
      return (await checkKey(apiKey)).auth;
    },

    check: checkKey,

    throttle(keyId) {
      if (settings.rateLimitPerSecond <= 0) return undefined;
      const bucket = buckets.get(keyId) ?? { tokens: settings.rateLimitBurst, at: Date.now() };
      buckets.set(keyId, bucket);
      return take(bucket, settings.rateLimitBurst, settings.rateLimitPerSecond);
    },

    evict,

    async listen(connectionString) {
      if (listener) throw new Error('already listening for API key revocations');
      listener = { client: undefined, up: false, closed: false, retryMs: 250 };
      await connectListener(connectionString);
    },

    flushUsage,

    async close() {
      if (listener) {
        listener.closed = true;
        await listener.client?.end().catch(() => undefined);
      }
      await flushUsage();
    },
  };
}

const unauthorized = (detail: string) => new ProblemError('unauthorized', 401, detail, { headers: { 'www-authenticate': 'Bearer realm="retrack"' } });

const rateLimited = (detail: string, waitSeconds: number) =>
  new ProblemError('rateLimited', 429, detail, { headers: { 'retry-after': String(waitSeconds) } });

// Exactly one token after the scheme: anything after the key is a malformed header, not ignored.
const BEARER = /^Bearer +(\S+) *$/i;

/** The key of `Authorization: Bearer <key>`, throttled per key id after failed attempts. */
async function bearerAuth(keys: ApiKeyService, header: string | undefined): Promise<{ auth: AuthContext; token: string }> {
  if (!header) throw unauthorized('Send an API key as "Authorization: Bearer <key>".');
  const token = BEARER.exec(header)?.[1];
  if (!token) throw unauthorized('The Authorization header must be "Bearer <key>" and nothing else.');
  const { auth, retryAfterSeconds } = await keys.check(token);
  if (retryAfterSeconds !== undefined) {
    throw rateLimited(`Too many failed authentications for this key id; retry in ${retryAfterSeconds}s.`, retryAfterSeconds);
  }
  if (!auth) throw unauthorized('The API key is unknown, malformed or revoked.');
  return { auth, token };
}

/**
 * Authenticates `Authorization: Bearer <key>` or, without that header, the web console's session
 * cookie (api/sessions.ts), then applies the key's rate limit.
 */
export function authenticate(keys: ApiKeyService, sessions?: ConsoleSessions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const sessionId = header === undefined ? sessionIdOf(c) : undefined;
    let auth: AuthContext | undefined;
    if (sessionId && sessions) {
      auth = await sessions.authenticate(c);
      if (!auth) throw unauthorized('The console session has expired, was signed out, or its API key was revoked; sign in again.');
      c.set('recheckAuth', () => sessions.isValid(sessionId));
    } else {
      const bearer = await bearerAuth(keys, header);
      auth = bearer.auth;
      c.set('recheckAuth', async () => (await keys.check(bearer.token)).auth !== undefined);
    }
    c.set('auth', auth);
    c.set('logFields', { ...c.get('logFields'), tenantId: auth.tenantId, keyId: auth.keyId });

    const waitSeconds = keys.throttle(auth.keyId);
    if (waitSeconds !== undefined) throw rateLimited(`This API key is over its rate limit; retry in ${waitSeconds}s.`, waitSeconds);
    await next();
  };
}
