// Web console sessions. The console signs in once with an API key and gets an HttpOnly,
// SameSite=Strict cookie holding a random session id (256 bits); only the id's sha256 is stored,
// with an expiry. The key never reaches browser storage or a URL. Each request checks the session
// and its key in one primary-key join, so revoking the key ends every session of it at once, in
// every API process. Writes made with the cookie must come from the console's own origin.
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { deleteConsoleSession, insertConsoleSession } from '../db/repositories/console-sessions.js';
import type { AuthContext } from './auth.js';
import type { AppEnv } from './context.js';
import { ProblemError } from './problem.js';

export const SESSION_COOKIE = 'retrack_session';
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const hashSessionId = (sessionId: string) => createHash('sha256').update(sessionId).digest('hex');

export interface ConsoleSessions {
  /** Opens a session for an already verified key; the id goes into the cookie and nowhere else. */
  signIn(auth: AuthContext): Promise<{ sessionId: string; expiresAt: Date }>;
  /** The caller behind the request's session cookie, or undefined (no cookie, unknown, expired, key revoked). */
  authenticate(c: Context<AppEnv>): Promise<AuthContext | undefined>;
  /** Whether the session is still valid (open streams re-check it). */
  isValid(sessionId: string): Promise<boolean>;
  signOut(sessionId: string): Promise<void>;
}

/** The session id of the request's cookie when it is well-formed. */
export function sessionIdOf(c: Context): string | undefined {
  const value = getCookie(c, SESSION_COOKIE);
  return value && SESSION_ID_PATTERN.test(value) ? value : undefined;
}

/** True when the request came over https (directly or through a proxy that says so): the cookie is then Secure. */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}

/**
 * Browsers send Origin on every cross-origin request and on same-origin writes; a write whose Origin
 * is missing or names another host than the one addressed did not come from the console's page.
 */
export function assertSameOrigin(c: Context, required: boolean): void {
  const origin = c.req.header('origin');
  if (!origin) {
    if (required) throw new ProblemError('forbidden', 403, 'A write with the console session cookie must carry an Origin header.');
    return;
  }
  const host = c.req.header('x-forwarded-host') ?? c.req.header('host') ?? new URL(c.req.url).host;
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (originHost !== host) throw new ProblemError('forbidden', 403, `Cross-origin request refused: Origin ${origin} is not this console's origin.`);
}

async function findSignedIn(db: Kysely<Database>, sessionId: string): Promise<AuthContext | undefined> {
  const row = await db
    .selectFrom('console_sessions as s')
    .innerJoin('api_keys as k', 'k.id', 's.key_id')
    .select(['k.tenant_id', 'k.id', 'k.role', 'k.device_id'])
    .where('s.id_hash', '=', hashSessionId(sessionId))
    .where('s.expires_at', '>', new Date())
    .where('k.revoked_at', 'is', null)
    .executeTakeFirst();
  return row && { tenantId: row.tenant_id, keyId: row.id, role: row.role, ...(row.device_id ? { deviceId: row.device_id } : {}) };
}

export function createConsoleSessions(options: { db: Kysely<Database>; ttlMs: number }): ConsoleSessions {
  const { db, ttlMs } = options;
  return {
    async signIn(auth) {
      const sessionId = randomBytes(32).toString('base64url');
      const expiresAt = new Date(Date.now() + ttlMs);
      await insertConsoleSession(db, { idHash: hashSessionId(sessionId), tenantId: auth.tenantId, keyId: auth.keyId, expiresAt });
      return { sessionId, expiresAt };
    },

    async authenticate(c) {
      const sessionId = sessionIdOf(c);
      if (!sessionId) return undefined;
      const auth = await findSignedIn(db, sessionId);
      if (auth && !SAFE_METHODS.has(c.req.method)) assertSameOrigin(c, true);
      return auth;
    },

    async isValid(sessionId) {
      return (await findSignedIn(db, sessionId)) !== undefined;
    },

    async signOut(sessionId) {
      await deleteConsoleSession(db, hashSessionId(sessionId));
    },
  };
}
