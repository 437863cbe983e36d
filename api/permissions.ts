// The one permission table: every authenticated operation and the roles allowed to call it.
// `secured()` reads it for each route, so the middleware that enforces a route and the OpenAPI
// document that describes it cannot disagree, and a route missing from the table fails at start-up.
//
// The role check runs before the body is validated or any row is read: a caller whose role may
// not use an operation learns nothing about ids or bodies (403 whatever it sends). Object-level
// rules (a device key and its own device's shipments) are checked by the handlers after the
// tenant-scoped lookup, so another tenant's id is a 404 exactly like a missing one.
import type { RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { ApiKeyRole } from '../db/schema.js';
import type { AppEnv } from './context.js';
import { ProblemError } from './problem.js';
import { problemResponses } from './schemas.js';
import { requireUtf8Body } from './utf8-body.js';

const READERS = ['admin', 'dispatcher', 'viewer'] as const;
const WRITERS = ['admin', 'dispatcher'] as const;
const SENDERS = ['admin', 'dispatcher', 'device'] as const;
const ADMIN = ['admin'] as const;

export const ROUTE_ROLES: Readonly<Record<string, readonly ApiKeyRole[]>> = {
  'POST /v1/shipments': WRITERS,
  'POST /v1/shipment-batches': WRITERS,
  'GET /v1/shipments': READERS,
  'GET /v1/shipments/{id}': READERS,
  'GET /v1/shipments/{id}/timeline': READERS,
  'GET /v1/shipments/{id}/track': READERS,
  'POST /v1/shipments/{id}/cancel': WRITERS,
  'PATCH /v1/shipments/{id}/assignment': WRITERS,
  'POST /v1/shipments/{id}/positions': SENDERS,
  'POST /v1/shipments/{id}/events': SENDERS,
  'GET /v1/shipments/{id}/positions': READERS,
  'POST /v1/positions': SENDERS,
  'GET /v1/devices/{deviceId}/positions': READERS,

  'POST /v1/carriers': WRITERS,
  'GET /v1/carriers': READERS,
  'GET /v1/carriers/{id}': READERS,
  'PATCH /v1/carriers/{id}': WRITERS,
  'DELETE /v1/carriers/{id}': WRITERS,
  'POST /v1/drivers': WRITERS,
  'GET /v1/drivers': READERS,
  'GET /v1/drivers/{id}': READERS,
  'PATCH /v1/drivers/{id}': WRITERS,
  'DELETE /v1/drivers/{id}': WRITERS,
  'POST /v1/vehicles': WRITERS,
  'GET /v1/vehicles': READERS,
  'GET /v1/vehicles/{id}': READERS,
  'PATCH /v1/vehicles/{id}': WRITERS,
  'DELETE /v1/vehicles/{id}': WRITERS,
  'POST /v1/devices': WRITERS,
  'GET /v1/devices': READERS,
  'GET /v1/devices/{id}': READERS,
  'PATCH /v1/devices/{id}': WRITERS,
  'DELETE /v1/devices/{id}': WRITERS,

  'POST /v1/api-keys': ADMIN,
  'GET /v1/api-keys': ADMIN,
  'GET /v1/api-keys/{id}': ADMIN,
  'DELETE /v1/api-keys/{id}': ADMIN,
  'GET /v1/audit-events': ADMIN,

  'GET /v1/analytics/eta-accuracy': READERS,
  'GET /v1/analytics/on-time': READERS,
  'GET /v1/analytics/dwell': READERS,
  'GET /v1/exports/positions': READERS,

  'GET /v1/sessions/current': READERS,
  'DELETE /v1/sessions/current': READERS,
  'GET /v1/shipments/{id}/stream': READERS,
  'GET /v1/shipments/{id}/map': READERS,
  'GET /v1/shipments/{id}/eta-history': READERS,
  'GET /v1/shipment-overview': READERS,
  'POST /v1/shipments/{id}/share-links': WRITERS,
  'GET /v1/shipments/{id}/share-links': WRITERS,
  'DELETE /v1/shipments/{id}/share-links/{linkId}': WRITERS,

  'GET /v1/events': READERS,
  'GET /v1/events/stream': READERS,
  'POST /v1/webhook-endpoints': ADMIN,
  'GET /v1/webhook-endpoints': ADMIN,
  'GET /v1/webhook-endpoints/{id}': ADMIN,
  'PATCH /v1/webhook-endpoints/{id}': ADMIN,
  'DELETE /v1/webhook-endpoints/{id}': ADMIN,
  'POST /v1/webhook-endpoints/{id}/rotate-secret': ADMIN,
  'POST /v1/webhook-endpoints/{id}/test': ADMIN,
  'GET /v1/webhook-endpoints/{id}/attempts': ADMIN,
  'POST /v1/webhook-endpoints/{id}/replay': ADMIN,
};

/**
 * The /v1 operations that take no API key, each with the reason. The authenticate middleware lets
 * exactly these through (`isPublicOperation`); everything else under /v1 needs a key or a session.
 */
export const PUBLIC_OPERATIONS: Readonly<Record<string, string>> = {
  'POST /v1/sessions': 'console sign-in: the API key travels in the body and is exchanged for a session cookie',
  'GET /v1/track/{token}': "a share link's data: the random token in the path is the credential (expiring, revocable, stored hashed)",
};

const PUBLIC_PATTERNS = Object.keys(PUBLIC_OPERATIONS).map((operation) => {
  const [method, path] = operation.split(' ') as [string, string];
  return { method, pattern: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`) };
});

export function isPublicOperation(method: string, path: string): boolean {
  return PUBLIC_PATTERNS.some((p) => p.method === method && p.pattern.test(path));
}

/** Marks a route as public in the OpenAPI document (no security, the reason in `x-public`); it must be in PUBLIC_OPERATIONS. */
export function publicRoute<const R extends Omit<RouteConfig, 'security'>>(route: R) {
  const operation = `${route.method.toUpperCase()} ${route.path}`;
  const reason = PUBLIC_OPERATIONS[operation];
  if (!reason) throw new Error(`${operation} is not in PUBLIC_OPERATIONS`);
  return { ...route, security: [], 'x-public': reason };
}

export const bearerSecurity = [{ bearerAuth: [] }];

export function authorize(roles: readonly ApiKeyRole[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { role } = c.get('auth');
    if (!roles.includes(role)) {
      throw new ProblemError('forbidden', 403, `A ${role} key may not call ${c.req.method} on this resource; allowed roles: ${roles.join(', ')}.`);
    }
    await next();
  };
}

/** Adds the bearer security requirement, the roles (as `x-roles` and in the description) and their enforcement. */
export function secured<const R extends Omit<RouteConfig, 'security' | 'middleware'>>(route: R) {
  const operation = `${route.method.toUpperCase()} ${route.path}`;
  const roles = ROUTE_ROLES[operation];
  if (!roles) throw new Error(`${operation} has no row in ROUTE_ROLES`);
  const rolesLine = `**Roles:** ${roles.join(', ')}.`;
  return {
    ...route,
    description: route.description ? `${route.description}\n\n${rolesLine}` : rolesLine,
    security: bearerSecurity,
    'x-roles': [...roles],
    // Every authenticated call can meet the key's rate limit, and every one takes some input
    // (a path, query or body) that can be refused.
    responses: { ...problemResponses(400, 429), ...route.responses },
    // The body is checked after the role, like every other validation.
    middleware: [authorize(roles), requireUtf8Body] as MiddlewareHandler<AppEnv>[],
  };
}
