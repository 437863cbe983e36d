// The tenant's audit log (admin only): key issue/revoke and every fleet change, with the acting key.
import { createRoute, z } from '@hono/zod-openapi';
import { listAuditEvents } from '../../db/repositories/audit.js';
import { iso } from '../../infra/encoding.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { createRouter } from '../router.js';
import { cursorParam, limitParam, problemResponses, text } from '../schemas.js';

const AuditEventSchema = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    action: z.string().openapi({ example: 'carrier.created' }),
    entityType: z.string(),
    entityId: z.string(),
    actorKeyId: z.string().optional().openapi({ description: 'The API key that acted; absent for the admin CLI' }),
    data: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEvent');

const word = text({ min: 1, max: 100 });

const listRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/audit-events',
    tags: ['Audit'],
    summary: 'Audit log, newest first',
    request: {
      query: z.object({
        action: word.optional(),
        entityType: word.optional(),
        entityId: word.optional(),
        actorKeyId: word.optional(),
        limit: limitParam(500, 100),
        cursor: cursorParam,
      }),
    },
    responses: {
      200: {
        description: 'A page of audit events',
        content: { 'application/json': { schema: z.object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() }).openapi('AuditEventList') } },
      },
      ...problemResponses(400, 401, 403, 429),
    },
  }),
);

export function auditEventRoutes({ db }: RouteDeps) {
  const router = createRouter();
  router.openapi(listRoute, async (c) => {
    const { limit, cursor, ...filters } = c.req.valid('query');
    const page = await listAuditEvents(db, c.get('auth').tenantId, filters, { limit, cursor });
    const items = page.items.map((e) => ({
      id: e.id,
      occurredAt: iso(e.occurred_at),
      action: e.action,
      entityType: e.entity_type,
      entityId: e.entity_id,
      ...(e.actor_key_id ? { actorKeyId: e.actor_key_id } : {}),
      data: e.data,
    }));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });
  return router;
}
