// API keys: `rtk_<keyId>_<secret>`. The key id is public and the row's primary key; only the
// sha256 of the secret is stored, compared in constant time. The key itself is never logged.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { MiddlewareHandler } from 'hono';
import type { ApiKeyRole, Database } from '../db/schema.js';
import { findApiKey, insertApiKey, touchApiKey } from '../db/repositories/tenants.js';
import { ProblemError } from './problem.js';
import type { AppEnv } from './context.js';

export const API_KEY_ROLES: readonly ApiKeyRole[] = ['admin', 'dispatcher', 'viewer', 'device'];
const KEY_PATTERN = /^rtk_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

export interface AuthContext {
  tenantId: string;
  keyId: string;
  role: ApiKeyRole;
  /** Set on device keys bound to one device. */
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
  db: Kysely<Database>,
  input: { tenantId: string; role: ApiKeyRole; name?: string; deviceId?: string },
): Promise<{ keyId: string; apiKey: string; role: ApiKeyRole }> {
  const { keyId, secret, apiKey } = generateApiKey();
  await insertApiKey(db, {
    id: keyId,
    tenantId: input.tenantId,
    role: input.role,
    name: input.name ?? `${input.role} key`,
    secretHash: hashSecret(secret),
    deviceId: input.deviceId,
  });
  return { keyId, apiKey, role: input.role };
}

// Compared when the key id is unknown so a miss costs the same as a wrong secret.
const DECOY_HASH = hashSecret('decoy');

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export async function verifyApiKey(db: Kysely<Database>, apiKey: string): Promise<AuthContext | undefined> {
  const parsed = parseApiKey(apiKey);
  if (!parsed) return undefined;
  const row = await findApiKey(db, parsed.keyId);
  const matches = sameHash(hashSecret(parsed.secret), row?.secret_hash ?? DECOY_HASH);
  if (!row || !matches || row.revoked_at) return undefined;
  return { tenantId: row.tenant_id, keyId: row.id, role: row.role, ...(row.device_id ? { deviceId: row.device_id } : {}) };
}

const unauthorized = (detail: string) => new ProblemError('unauthorized', 401, detail, { headers: { 'www-authenticate': 'Bearer realm="retrack"' } });

/** Authenticates `Authorization: Bearer <key>` and records last use at most once a minute per key. */
export function authenticate(db: Kysely<Database>): MiddlewareHandler<AppEnv> {
  const lastTouched = new Map<string, number>();
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) throw unauthorized('Send an API key as "Authorization: Bearer <key>".');
    const [scheme, token] = header.split(' ', 2);
    if (scheme?.toLowerCase() !== 'bearer' || !token) throw unauthorized('The Authorization header must use the Bearer scheme.');
    const auth = await verifyApiKey(db, token.trim());
    if (!auth) throw unauthorized('The API key is unknown, malformed or revoked.');
    c.set('auth', auth);
    c.set('logFields', { ...c.get('logFields'), tenantId: auth.tenantId, keyId: auth.keyId });

    const now = Date.now();
    if (now - (lastTouched.get(auth.keyId) ?? 0) > 60_000) {
      lastTouched.set(auth.keyId, now);
      touchApiKey(db, auth.keyId, new Date(now)).catch((error: unknown) => c.get('logger').warn({ err: error }, 'could not record API key use'));
    }
    await next();
  };
}

/** What a request does, mapped to the roles allowed to do it (issue 3 refines this model). */
export type Permission = 'read' | 'write' | 'ingest';
const PERMISSIONS: Record<Permission, readonly ApiKeyRole[]> = {
  read: ['admin', 'dispatcher', 'viewer'],
  write: ['admin', 'dispatcher'],
  ingest: ['admin', 'dispatcher', 'device'],
};

export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const auth = c.get('auth');
    if (!PERMISSIONS[permission].includes(auth.role)) {
      throw new ProblemError('forbidden', 403, `A ${auth.role} key may not ${permission === 'ingest' ? 'send positions' : permission} here.`);
    }
    await next();
  };
}
