// Webhook endpoints (admin): where the tenant's events are delivered, signed per Standard Webhooks
// by one durable workflow per endpoint. The signing secret is in the create and rotate answers
// only; a rotation keeps the previous secret valid (deliveries carry both signatures) for a day.
import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { recordAudit } from '../../db/repositories/audit.js';
import { feedHead, feedSeqBefore } from '../../db/repositories/event-feed.js';
import { deleteWebhookEndpoint, findWebhookEndpoint, insertWebhookEndpoint, listWebhookAttempts, listWebhookEndpoints, updateWebhookEndpoint } from '../../db/repositories/webhook-endpoints.js';
import { isBigintId } from '../../db/repositories/pagination.js';
import { EVENT_TYPES } from '../../domain/events/catalogue.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { notFound, validationProblem } from '../problem.js';
import { createRouter } from '../router.js';
import { atLeastOneField, isoTime, limitParam, pathId, problemResponses, text } from '../schemas.js';
import { assertWebhookUrl, newWebhookSecret, notifyDelivery, sendTestPing, toAttemptView, toEndpointView, wakeDelivery } from '../services/webhook-endpoints.js';

const PREVIOUS_SECRET_VALID_MS = 24 * 3_600_000;
const tags = ['Webhooks'];

const url = text({ min: 1, max: 2000 }).openapi({ description: 'https URL (plain http only for hosts in WEBHOOK_ALLOWED_HOSTS); must not resolve to a private address', example: 'https://tms.example.com/hooks/retrack' });
const eventTypes = z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).openapi({ description: 'Catalogue types to deliver; empty or absent: every type' });
const description = text({ max: 500 });

const CreateEndpointSchema = z.strictObject({ url, description: description.optional(), eventTypes: eventTypes.optional(), enabled: z.boolean().optional() }).openapi('CreateWebhookEndpoint');
const UpdateEndpointSchema = z
  .strictObject({ url: url.optional(), description: description.nullable().optional(), eventTypes: eventTypes.optional(), enabled: z.boolean().optional() })
  .refine(atLeastOneField, { message: 'send at least one field' })
  .openapi('UpdateWebhookEndpoint');
const ReplaySchema = z.strictObject({ from: isoTime.openapi({ description: 'Re-send every event recorded at or after this time' }) }).openapi('ReplayWebhookEndpoint');

const EndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().optional(),
    eventTypes: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z.string().optional().openapi({ description: 'Why deliveries stopped (410 Gone, retry window exhausted, or an admin)' }),
    disabledAt: z.string().optional(),
    previousSecretExpiresAt: z.string().optional().openapi({ description: 'Until then deliveries are also signed with the secret before the last rotation' }),
    cursor: z.string().openapi({ description: 'Feed cursor delivered up to' }),
    workflowId: z.string().openapi({ description: 'The delivery workflow in the Temporal UI' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WebhookEndpoint');
const WithSecretSchema = EndpointSchema.extend({ secret: z.string().openapi({ description: 'The signing secret (`whsec_…`): shown in this answer only' }) }).openapi('WebhookEndpointWithSecret');
const AttemptSchema = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    eventType: z.string(),
    cursor: z.string().optional(),
    attemptedAt: z.string(),
    status: z.number().int().optional().openapi({ description: 'HTTP status; absent when no answer came' }),
    latencyMs: z.number().int(),
    succeeded: z.boolean(),
    error: z.string().optional(),
  })
  .openapi('WebhookAttempt');

const IdParamSchema = z.object({ id: pathId('id', '3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d') });
const AttemptsQuerySchema = z.object({ limit: limitParam(200, 50), before: text({ max: 30, trim: false }).optional().openapi({ description: 'An attempt id: older attempts' }) });

const json = <T extends z.ZodType>(schema: T, desc: string) => ({ description: desc, content: { 'application/json': { schema } } });
const body = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });

const createEndpointRoute = createRoute(secured({
  method: 'post', path: '/v1/webhook-endpoints', tags,
  summary: 'Register a webhook endpoint',
  description: "Deliveries start with the events recorded after this call (replay reaches back). Every request carries `webhook-id` (the event's id), `webhook-timestamp` and `webhook-signature` per Standard Webhooks.",
  request: body(CreateEndpointSchema),
  responses: { 201: json(WithSecretSchema, 'The endpoint and its secret'), ...problemResponses(400, 401, 403) },
}));
const listEndpointsRoute = createRoute(secured({
  method: 'get', path: '/v1/webhook-endpoints', tags, summary: "The tenant's webhook endpoints",
  responses: { 200: json(z.object({ items: z.array(EndpointSchema) }), 'The endpoints'), ...problemResponses(401, 403) },
}));
const getEndpointRoute = createRoute(secured({
  method: 'get', path: '/v1/webhook-endpoints/{id}', tags, summary: 'One webhook endpoint', request: { params: IdParamSchema },
  responses: { 200: json(EndpointSchema, 'The endpoint'), ...problemResponses(401, 403, 404) },
}));
const updateEndpointRoute = createRoute(secured({
  method: 'patch', path: '/v1/webhook-endpoints/{id}', tags, summary: 'Change a webhook endpoint',
  description: 'Only the fields sent change. `enabled: true` re-enables a disabled endpoint (it resumes from its cursor).',
  request: { params: IdParamSchema, ...body(UpdateEndpointSchema) },
  responses: { 200: json(EndpointSchema, 'The endpoint'), ...problemResponses(401, 403, 404) },
}));
const deleteEndpointRoute = createRoute(secured({
  method: 'delete', path: '/v1/webhook-endpoints/{id}', tags, summary: 'Delete a webhook endpoint', description: 'Its delivery workflow ends; its attempts are deleted with it.',
  request: { params: IdParamSchema }, responses: { 204: { description: 'Deleted' }, ...problemResponses(401, 403, 404) },
}));
const rotateSecretRoute = createRoute(secured({
  method: 'post', path: '/v1/webhook-endpoints/{id}/rotate-secret', tags, summary: 'Rotate the signing secret',
  description: 'Answers the new secret once; for 24 h deliveries are signed with both the new and the previous secret.',
  request: { params: IdParamSchema }, responses: { 200: json(WithSecretSchema, 'The endpoint and its new secret'), ...problemResponses(401, 403, 404) },
}));
const testEndpointRoute = createRoute(secured({
  method: 'post', path: '/v1/webhook-endpoints/{id}/test', tags, summary: 'Send a signed `webhook.test` ping now',
  request: { params: IdParamSchema }, responses: { 200: json(AttemptSchema, 'The attempt (succeeded or not)'), ...problemResponses(401, 403, 404) },
}));
const attemptsRoute = createRoute(secured({
  method: 'get', path: '/v1/webhook-endpoints/{id}/attempts', tags, summary: 'Delivery attempts, newest first',
  request: { params: IdParamSchema, query: AttemptsQuerySchema },
  responses: { 200: json(z.object({ items: z.array(AttemptSchema), nextBefore: z.string().nullable() }), 'Attempts'), ...problemResponses(401, 403, 404) },
}));
const replayRoute = createRoute(secured({
  method: 'post', path: '/v1/webhook-endpoints/{id}/replay', tags, summary: 'Re-send events from a point in time',
  description: 'Moves the cursor back to just before the first event recorded at `from`; those events are delivered again, each with the same webhook-id as before.',
  request: { params: IdParamSchema, ...body(ReplaySchema) }, responses: { 202: json(EndpointSchema, 'The endpoint with its new cursor'), ...problemResponses(401, 403, 404) },
}));

export function webhookEndpointRoutes({ db, temporal, config }: RouteDeps) {
  const router = createRouter();
  const settings = config.webhooks;

  async function load(tenantId: string, id: string) {
    const row = await findWebhookEndpoint(db, tenantId, id);
    if (!row) throw notFound('Webhook endpoint not found.');
    return row;
  }

  router.openapi(createEndpointRoute, async (c) => {
    const input = c.req.valid('json');
    const { tenantId, keyId } = c.get('auth');
    await assertWebhookUrl(input.url, settings.http);
    const secret = newWebhookSecret();
    const row = await insertWebhookEndpoint(db, {
      id: randomUUID(),
      tenant_id: tenantId,
      url: input.url,
      description: input.description ?? null,
      event_types: input.eventTypes ?? [],
      enabled: input.enabled ?? true,
      secret,
      cursor_seq: await feedHead(db, tenantId),
    });
    await recordAudit(db, { tenantId, actorKeyId: keyId, action: 'webhook_endpoint.created', entityType: 'webhook_endpoint', entityId: row.id, data: { url: row.url, eventTypes: row.event_types } });
    if (row.enabled) await wakeDelivery(temporal, settings, row);
    return c.json({ ...toEndpointView(row), secret }, 201);
  });

  router.openapi(listEndpointsRoute, async (c) => c.json({ items: (await listWebhookEndpoints(db, c.get('auth').tenantId)).map(toEndpointView) }, 200));

  router.openapi(getEndpointRoute, async (c) => c.json(toEndpointView(await load(c.get('auth').tenantId, c.req.valid('param').id)), 200));

  router.openapi(updateEndpointRoute, async (c) => {
    const { tenantId, keyId } = c.get('auth');
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    await load(tenantId, id);
    if (input.url !== undefined) await assertWebhookUrl(input.url, settings.http);
    const row = await updateWebhookEndpoint(db, tenantId, id, {
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.eventTypes !== undefined ? { event_types: input.eventTypes } : {}),
      ...(input.enabled === true ? { enabled: true, disabled_reason: null, disabled_at: null } : {}),
      ...(input.enabled === false ? { enabled: false, disabled_reason: 'disabled by an admin', disabled_at: new Date() } : {}),
    });
    if (!row) throw notFound('Webhook endpoint not found.');
    await recordAudit(db, { tenantId, actorKeyId: keyId, action: 'webhook_endpoint.updated', entityType: 'webhook_endpoint', entityId: row.id, data: input });
    if (row.enabled) await wakeDelivery(temporal, settings, row);
    else await notifyDelivery(temporal, row);
    return c.json(toEndpointView(row), 200);
  });

  router.openapi(deleteEndpointRoute, async (c) => {
    const { tenantId, keyId } = c.get('auth');
    const row = await load(tenantId, c.req.valid('param').id);
    if (!(await deleteWebhookEndpoint(db, tenantId, row.id))) throw notFound('Webhook endpoint not found.');
    await recordAudit(db, { tenantId, actorKeyId: keyId, action: 'webhook_endpoint.deleted', entityType: 'webhook_endpoint', entityId: row.id, data: { url: row.url } });
    await notifyDelivery(temporal, row);
    return c.body(null, 204);
  });

  router.openapi(rotateSecretRoute, async (c) => {
    const { tenantId, keyId } = c.get('auth');
    const current = await load(tenantId, c.req.valid('param').id);
    const secret = newWebhookSecret();
    const row = await updateWebhookEndpoint(db, tenantId, current.id, {
      secret,
      previous_secret: current.secret,
      previous_secret_expires_at: new Date(Date.now() + PREVIOUS_SECRET_VALID_MS),
    });
    if (!row) throw notFound('Webhook endpoint not found.');
    await recordAudit(db, { tenantId, actorKeyId: keyId, action: 'webhook_endpoint.secret_rotated', entityType: 'webhook_endpoint', entityId: row.id });
    return c.json({ ...toEndpointView(row), secret }, 200);
  });

  router.openapi(testEndpointRoute, async (c) => {
    const row = await load(c.get('auth').tenantId, c.req.valid('param').id);
    const attempt = await sendTestPing(db, row, settings.http);
    if (!attempt) throw notFound('Webhook endpoint not found.');
    return c.json(toAttemptView(attempt), 200);
  });

  router.openapi(attemptsRoute, async (c) => {
    const row = await load(c.get('auth').tenantId, c.req.valid('param').id);
    const { limit, before } = c.req.valid('query');
    if (before !== undefined && !isBigintId(before)) throw validationProblem([{ field: 'before', message: 'must be an attempt id' }]);
    const rows = await listWebhookAttempts(db, row.id, limit + 1, before);
    const items = rows.slice(0, limit).map(toAttemptView);
    return c.json({ items, nextBefore: rows.length > limit ? items.at(-1)!.id : null }, 200);
  });

  router.openapi(replayRoute, async (c) => {
    const { tenantId, keyId } = c.get('auth');
    const current = await load(tenantId, c.req.valid('param').id);
    const { from } = c.req.valid('json');
    const row = await updateWebhookEndpoint(db, tenantId, current.id, { cursor_seq: await feedSeqBefore(db, tenantId, new Date(from)) });
    if (!row) throw notFound('Webhook endpoint not found.');
    await recordAudit(db, { tenantId, actorKeyId: keyId, action: 'webhook_endpoint.replayed', entityType: 'webhook_endpoint', entityId: row.id, data: { from, cursor: String(row.cursor_seq) } });
    if (row.enabled) await wakeDelivery(temporal, settings, row);
    return c.json(toEndpointView(row), 202);
  });

  return router;
}
