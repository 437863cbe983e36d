// API keys of the caller's tenant (admin only): issue (the secret is in the answer once and never
// again), list and read without the secret, revoke. Issuing and revoking are audited.
import { createRoute, z } from '@hono/zod-openapi';
import { recordAudit } from '../../db/repositories/audit.js';
import { findTenantApiKey, listApiKeys, revokeApiKey } from '../../db/repositories/tenants.js';
import { iso } from '../../infra/encoding.js';
import type { ApiKeyRole, ApiKeyRow } from '../../db/schema.js';
import { API_KEY_ROLES, issueApiKey } from '../auth.js';
import type { RouteDeps } from '../context.js';
import { assertFleetReferences, fleetRef } from '../fleet.js';
import { secured } from '../permissions.js';
import { notFound } from '../problem.js';
import { createRouter } from '../router.js';
import { cursorParam, limitParam, pathId, problemResponses, text } from '../schemas.js';

const roleEnum = z.enum(API_KEY_ROLES as [ApiKeyRole, ...ApiKeyRole[]]);

const IssueApiKeySchema = z
  .strictObject({
    role: roleEnum,
    name: text({ min: 1, max: 200 }).optional(),
    deviceId: fleetRef.optional().openapi({ description: 'Required for (and only for) the device role: the device the key speaks for' }),
  })
  .superRefine((body, ctx) => {
    if (body.role === 'device' && !body.deviceId) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: 'a device key needs the id of its device' });
    if (body.role !== 'device' && body.deviceId) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: 'only device keys are bound to a device' });
  })
  .openapi('IssueApiKey', { example: { role: 'dispatcher', name: 'TMS integration' } });

const ApiKeySchema = z
  .object({
    id: z.string().openapi({ description: 'Public key id (the part after `rtk_`)' }),
    name: z.string(),
    role: roleEnum,
    deviceId: z.string().optional(),
    createdAt: z.string(),
    createdByKeyId: z.string().optional(),
    lastUsedAt: z.string().optional().openapi({ description: 'Recorded at most once a minute per key' }),
    revokedAt: z.string().optional(),
  })
  .openapi('ApiKey');

const IssuedApiKeySchema = ApiKeySchema.extend({
  apiKey: z.string().openapi({ description: 'The secret key, `rtk_<id>_<secret>`: shown in this answer only, store it now' }),
}).openapi('IssuedApiKey');

const ApiKeyListSchema = z.object({ items: z.array(ApiKeySchema), nextCursor: z.string().nullable() }).openapi('ApiKeyList');

const KeyIdParamSchema = z.object({ id: pathId('id', '9f1c2b1e8a7d4c1e9a512f9e') });

function toView(row: ApiKeyRow): z.infer<typeof ApiKeySchema> {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    ...(row.device_id ? { deviceId: row.device_id } : {}),
    createdAt: iso(row.created_at),
    ...(row.created_by_key_id ? { createdByKeyId: row.created_by_key_id } : {}),
    ...(row.last_used_at ? { lastUsedAt: iso(row.last_used_at) } : {}),
    ...(row.revoked_at ? { revokedAt: iso(row.revoked_at) } : {}),
  };
}

const tags = ['API keys'];

const issueRoute = createRoute(
  secured({
    method: 'post',
    path: '/v1/api-keys',
    tags,
    summary: 'Issue an API key',
    description: 'The answer carries the secret key once; only its hash is stored. Keys are prefixed `rtk_`.',
    request: { body: { required: true, content: { 'application/json': { schema: IssueApiKeySchema } } } },
    responses: {
      201: { description: 'The new key, with its secret', content: { 'application/json': { schema: IssuedApiKeySchema } } },
      ...problemResponses(400, 401, 403, 422, 429),
    },
  }),
);

const listRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/api-keys',
    tags,
    summary: 'List API keys (never their secrets), newest first',
    request: {
      query: z.object({
        role: roleEnum.optional(),
        deviceId: fleetRef.optional(),
        includeRevoked: z.enum(['true', 'false']).default('false').openapi({ description: 'Also list revoked keys' }),
        limit: limitParam(200, 50),
        cursor: cursorParam,
      }),
    },
    responses: {
      200: { description: 'A page of keys', content: { 'application/json': { schema: ApiKeyListSchema } } },
      ...problemResponses(400, 401, 403, 429),
    },
  }),
);

const getRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/api-keys/{id}',
    tags,
    summary: 'Get an API key (without its secret)',
    request: { params: KeyIdParamSchema },
    responses: {
      200: { description: 'The key', content: { 'application/json': { schema: ApiKeySchema } } },
      ...problemResponses(401, 403, 404, 429),
    },
  }),
);

const revokeRoute = createRoute(
  secured({
    method: 'delete',
    path: '/v1/api-keys/{id}',
    tags,
    summary: 'Revoke an API key',
    description: 'Refused from the next request on, in every API process. Revoking a revoked key changes nothing and answers the same.',
    request: { params: KeyIdParamSchema },
    responses: {
      200: { description: 'The revoked key', content: { 'application/json': { schema: ApiKeySchema } } },
      ...problemResponses(401, 403, 404, 429),
    },
  }),
);

export function apiKeyRoutes({ db, keys }: RouteDeps) {
  const router = createRouter();

  router.openapi(issueRoute, async (c) => {
    const body = c.req.valid('json');
    const { tenantId, keyId: actorKeyId } = c.get('auth');
    const issued = await db.transaction().execute(async (trx) => {
      if (body.deviceId) await assertFleetReferences(trx, tenantId, [{ field: 'deviceId', kind: 'device', id: body.deviceId }]);
      const key = await issueApiKey(trx, { tenantId, role: body.role, name: body.name, deviceId: body.deviceId, createdByKeyId: actorKeyId });
      await recordAudit(trx, {
        tenantId,
        actorKeyId,
        action: 'api_key.issued',
        entityType: 'api_key',
        entityId: key.keyId,
        data: { role: body.role, name: key.row.name, ...(body.deviceId ? { deviceId: body.deviceId } : {}) },
      });
      return key;
    });
    return c.json({ ...toView(issued.row), apiKey: issued.apiKey }, 201);
  });

  router.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const page = await listApiKeys(
      db,
      c.get('auth').tenantId,
      { role: query.role, deviceId: query.deviceId, includeRevoked: query.includeRevoked === 'true' },
      { limit: query.limit, cursor: query.cursor },
    );
    return c.json({ items: page.items.map(toView), nextCursor: page.nextCursor }, 200);
  });

  router.openapi(getRoute, async (c) => {
    const row = await findTenantApiKey(db, c.get('auth').tenantId, c.req.valid('param').id);
    if (!row) throw notFound('API key not found.');
    return c.json(toView(row), 200);
  });

  router.openapi(revokeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { tenantId, keyId: actorKeyId } = c.get('auth');
    const row = await db.transaction().execute(async (trx) => {
      const revoked = await revokeApiKey(trx, tenantId, id);
      if (revoked) {
        await recordAudit(trx, { tenantId, actorKeyId, action: 'api_key.revoked', entityType: 'api_key', entityId: revoked.id, data: { role: revoked.role, name: revoked.name } });
        return revoked;
      }
      return findTenantApiKey(trx, tenantId, id);
    });
    if (!row) throw notFound('API key not found.');
    // This process forgets the key now; the others when the NOTIFY sent at commit reaches them.
    keys.evict(row.id);
    return c.json(toView(row), 200);
  });

  return router;
}
