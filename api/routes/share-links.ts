// Share links: expiring, revocable public tracking links of one shipment (dispatcher+), and the
// public data behind `/track/{token}`: the shipment's progress only (stops, ETA, last position,
// track), never fleet ids, keys or anything of another shipment. The token carries 256 random bits
// and only its sha256 is stored; an expired, revoked or unknown token answers the same 404.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ShareLinkRow } from '../../db/schema.js';
import { findSharedShipment, insertShareLink, listShareLinks, revokeShareLink } from '../../db/repositories/share-links.js';
import { findShipment, findStops, toStopProgress } from '../../db/repositories/shipments.js';
import { iso } from '../../infra/encoding.js';
import type { RouteDeps } from '../context.js';
import { publicRoute, secured } from '../permissions.js';
import { notFound, validationProblem } from '../problem.js';
import { createRouter, loadShipment } from '../router.js';
import { isoTime, pathId, problemResponses, ShipmentIdParamSchema, text } from '../schemas.js';
import { loadSimplifiedTrack } from '../track-layers.js';
import { TrackLayersSchema, trackLayers } from './shipment-map.js';

export const MAX_SHARE_LINK_DAYS = 30;
const DEFAULT_SHARE_LINK_DAYS = 7;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const hashShareToken = (token: string) => createHash('sha256').update(token).digest('hex');

const CreateShareLinkSchema = z
  .strictObject({
    expiresAt: isoTime.optional().openapi({ description: `When the link stops working; at most ${MAX_SHARE_LINK_DAYS} days ahead (default ${DEFAULT_SHARE_LINK_DAYS})` }),
  })
  .openapi('CreateShareLink', { example: { expiresAt: '2026-12-09T00:00:00Z' } });

const ShareLinkSchema = z
  .object({
    id: z.string(),
    shipmentId: z.string(),
    status: z.enum(['active', 'expired', 'revoked']),
    createdAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().optional(),
    createdByKeyId: z.string().optional(),
  })
  .openapi('ShareLink');

const CreatedShareLinkSchema = ShareLinkSchema.extend({
  token: z.string().openapi({ description: 'The secret part of the link: shown in this answer only' }),
  url: z.string().openapi({ description: 'The public tracking page, `<origin>/track/<token>`' }),
}).openapi('CreatedShareLink');

const PublicStopSchema = z.object({
  sequence: z.number().int(),
  type: z.string(),
  name: z.string(),
  location: z.object({ lat: z.number(), lon: z.number() }),
  status: z.enum(['PENDING', 'ARRIVED', 'DEPARTED']),
  window: z.object({ start: z.string(), end: z.string() }).optional(),
  arrivedAt: z.string().optional(),
  departedAt: z.string().optional(),
  eta: z.string().optional(),
});

const PublicTrackingSchema = z
  .object({
    status: z.string(),
    updatedAt: z.string(),
    eta: z.string().optional().openapi({ description: 'Predicted arrival at the next stop' }),
    lastPosition: z.object({ recordedAt: z.string(), lat: z.number(), lon: z.number() }).optional(),
    stops: z.array(PublicStopSchema),
    track: TrackLayersSchema,
  })
  .openapi('PublicTracking');

const LinkParamsSchema = ShipmentIdParamSchema.extend({
  linkId: pathId('linkId', '2b7e1c3a-5d4f-4e8b-9a1c-7f3e2d1b0a9c'),
});
const TokenParamSchema = z.object({ token: text({ max: 200 }).openapi({ param: { name: 'token', in: 'path' } }) });

const tags = ['Share links'];

const createLinkRoute = createRoute(secured({
  method: 'post',
  path: '/v1/shipments/{id}/share-links',
  tags,
  summary: 'Create a public tracking link for the shipment',
  description: `The link opens \`/track/{token}\` without a key and shows the shipment's progress only. The token is in this answer once; only its hash is stored.`,
  request: { params: ShipmentIdParamSchema, body: { required: false, content: { 'application/json': { schema: CreateShareLinkSchema } } } },
  responses: {
    201: { description: 'The new link, with its token', content: { 'application/json': { schema: CreatedShareLinkSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
}));

const listLinksRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}/share-links',
  tags,
  summary: "The shipment's share links (never their tokens), newest first",
  request: { params: ShipmentIdParamSchema },
  responses: {
    200: { description: 'The links', content: { 'application/json': { schema: z.object({ items: z.array(ShareLinkSchema) }) } } },
    ...problemResponses(401, 403, 404),
  },
}));

const revokeLinkRoute = createRoute(secured({
  method: 'delete',
  path: '/v1/shipments/{id}/share-links/{linkId}',
  tags,
  summary: 'Revoke a share link',
  description: 'The link answers not-found from the next request on; revoking again changes nothing.',
  request: { params: LinkParamsSchema },
  responses: {
    200: { description: 'The revoked link', content: { 'application/json': { schema: ShareLinkSchema } } },
    ...problemResponses(401, 403, 404),
  },
}));

const publicTrackingRoute = createRoute(publicRoute({
  method: 'get',
  path: '/v1/track/{token}',
  tags,
  summary: "A share link's tracking data (no key: the token is the credential)",
  request: { params: TokenParamSchema },
  responses: {
    200: { description: "The shipment's progress", content: { 'application/json': { schema: PublicTrackingSchema } } },
    ...problemResponses(400, 404),
  },
}));

function toView(row: ShareLinkRow, now = Date.now()): z.infer<typeof ShareLinkSchema> {
  const status = row.revoked_at ? 'revoked' : new Date(row.expires_at).getTime() <= now ? 'expired' : 'active';
  return {
    id: row.id,
    shipmentId: row.shipment_id,
    status,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    ...(row.revoked_at ? { revokedAt: iso(row.revoked_at) } : {}),
    ...(row.created_by_key_id ? { createdByKeyId: row.created_by_key_id } : {}),
  };
}

function expiryOf(expiresAt: string | undefined): Date {
  const now = Date.now();
  if (expiresAt === undefined) return new Date(now + DEFAULT_SHARE_LINK_DAYS * 86_400_000);
  const at = Date.parse(expiresAt);
  if (at <= now) throw validationProblem([{ field: 'expiresAt', message: 'must be in the future' }]);
  if (at > now + MAX_SHARE_LINK_DAYS * 86_400_000) throw validationProblem([{ field: 'expiresAt', message: `must be at most ${MAX_SHARE_LINK_DAYS} days ahead` }]);
  return new Date(at);
}

/** The origin the caller used, so the link works behind the same proxy. */
export function publicOrigin(c: Context): string {
  const url = new URL(c.req.url);
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() ?? url.protocol.replace(':', '');
  const host = c.req.header('x-forwarded-host') ?? c.req.header('host') ?? url.host;
  return `${proto}://${host}`;
}

/** The shipment a token opens, or undefined for an unknown, expired or revoked one (same lookup for all). */
export async function sharedShipment(deps: Pick<RouteDeps, 'db'>, token: string) {
  return findSharedShipment(deps.db, hashShareToken(TOKEN_PATTERN.test(token) ? token : 'malformed'));
}

export function shareLinkRoutes(deps: RouteDeps) {
  const { db } = deps;
  const router = createRouter();

  router.openapi(createLinkRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    // The body is optional: a POST without one takes the default expiry.
    const body: { expiresAt?: string } = c.req.valid('json') ?? {};
    const token = randomBytes(32).toString('base64url');
    const link = await insertShareLink(db, {
      id: randomUUID(),
      tenantId: row.tenant_id,
      shipmentId: row.id,
      tokenHash: hashShareToken(token),
      expiresAt: expiryOf(body.expiresAt),
      createdByKeyId: c.get('auth').keyId,
    });
    c.get('logger').info({ shipmentId: row.id, shareLinkId: link.id, expiresAt: iso(link.expires_at) }, 'share link created');
    return c.json({ ...toView(link), token, url: `${publicOrigin(c)}/track/${token}` }, 201);
  });

  router.openapi(listLinksRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const links = await listShareLinks(db, row.tenant_id, row.id);
    return c.json({ items: links.map((link) => toView(link)) }, 200);
  });

  router.openapi(revokeLinkRoute, async (c) => {
    const params = c.req.valid('param');
    // A missing shipment and a missing link answer alike: nothing tells them apart.
    const row = await findShipment(db, c.get('auth').tenantId, params.id);
    const link = row && (await revokeShareLink(db, row.tenant_id, row.id, params.linkId));
    if (!row || !link) throw notFound('Share link not found.');
    c.get('logger').info({ shipmentId: row.id, shareLinkId: link.id }, 'share link revoked');
    return c.json(toView(link), 200);
  });

  router.openapi(publicTrackingRoute, async (c) => {
    const row = await sharedShipment(deps, c.req.valid('param').token);
    if (!row) throw notFound('This tracking link is unknown, expired or revoked.');
    const [stops, { track }] = await Promise.all([findStops(db, row.id), loadSimplifiedTrack(db, row)]);
    const last = row.last_position;
    c.header('cache-control', 'no-store');
    c.header('referrer-policy', 'no-referrer');
    return c.json(
      {
        status: row.status,
        updatedAt: iso(row.updated_at),
        ...(row.next_eta ? { eta: iso(row.next_eta) } : {}),
        ...(last ? { lastPosition: { recordedAt: last.recordedAt, lat: last.lat, lon: last.lon } } : {}),
        stops: stops.map((stop) => {
          const { geofenceRadiusM: _radius, plannedDwellMin: _dwell, ...progress } = toStopProgress(stop);
          return progress;
        }),
        track: trackLayers(track),
      },
      200,
    );
  });

  return router;
}
