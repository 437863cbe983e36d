// What the console's shipment page draws: the map layers (the driven track split at reporting gaps
// and simplified server-side, stops, planned route, milestones and where each anomaly opened and
// resolved) and the ETA history chart (every stored prediction per stop against its window and the
// real arrival). Both answer with the stream cursor they were read at, so the live stream
// continues exactly where they end.
import { createRoute, z } from '@hono/zod-openapi';
import { shipmentEtaHistory, shipmentEventsOfTypes } from '../../db/repositories/console.js';
import { currentShipmentCursor } from '../../db/repositories/shipment-changes.js';
import { findStops, toStopProgress } from '../../db/repositories/shipments.js';
import { iso } from '../../infra/encoding.js';
import { positionAt, type SimplifiedTrack, type TrackVertex } from '../../domain/track.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { createRouter, loadShipment } from '../router.js';
import { problemResponses, ShipmentIdParamSchema } from '../schemas.js';
import { encodeStreamCursor } from '../shipment-stream-hub.js';
import { loadSimplifiedTrack } from '../track-layers.js';

const vertex = z.tuple([z.number(), z.number(), z.number()]).openapi({ description: '[lon, lat, fix time in epoch seconds]' });

export const TrackLayersSchema = z
  .object({
    type: z.literal('FeatureCollection'),
    features: z.array(
      z.object({
        type: z.literal('Feature'),
        geometry: z.object({ type: z.literal('LineString'), coordinates: z.array(vertex) }),
        properties: z.object({ kind: z.enum(['reporting', 'gap']) }),
      }),
    ),
  })
  .openapi('TrackLayers', { description: 'The driven track: `reporting` stretches and `gap`s where the device was silent longer than the signal-loss threshold' });

export function trackLayers(track: SimplifiedTrack): z.infer<typeof TrackLayersSchema> {
  const line = (coordinates: TrackVertex[], kind: 'reporting' | 'gap') => ({
    type: 'Feature' as const,
    geometry: { type: 'LineString' as const, coordinates },
    properties: { kind },
  });
  return {
    type: 'FeatureCollection',
    // A stretch of one fix is drawn as a zero-length line so it still shows.
    features: [...track.segments.map((s) => line(s.length === 1 ? [s[0]!, s[0]!] : s, 'reporting')), ...track.gaps.map((g) => line(g, 'gap'))],
  };
}

const MapSchema = z
  .object({
    track: TrackLayersSchema,
    fixes: z.number().int(),
    vertices: z.number().int(),
    stops: z.array(z.record(z.string(), z.unknown())),
    plannedRoute: z.object({ type: z.literal('LineString'), coordinates: z.array(z.tuple([z.number(), z.number()])) }).optional(),
    milestones: z.array(z.object({ eventId: z.string(), type: z.string(), stopSequence: z.number().int().optional(), at: z.string(), lat: z.number(), lon: z.number() })),
    anomalies: z.array(
      z.object({ eventId: z.string(), anomaly: z.string(), action: z.enum(['opened', 'resolved']), at: z.string(), lat: z.number(), lon: z.number(), detail: z.string().optional() }),
    ),
    streamCursor: z.string().openapi({ description: 'Open the stream with `?after=` this value to get everything after this answer' }),
  })
  .openapi('ShipmentMap');

const EtaHistorySchema = z
  .object({
    stops: z.array(
      z.object({ sequence: z.number().int(), name: z.string(), window: z.object({ start: z.string(), end: z.string() }).optional(), arrivedAt: z.string().optional() }),
    ),
    predictions: z.array(z.object({ stopSequence: z.number().int(), source: z.string(), predictedAt: z.string(), predictedArrival: z.string() })),
    streamCursor: z.string(),
  })
  .openapi('EtaHistory');

const mapRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}/map',
  tags: ['Shipments'],
  summary: 'Map layers of the shipment: simplified track with gaps, stops, route, milestones, anomalies',
  description:
    'The track is simplified with Douglas–Peucker: for `zoom` (web-mercator level) to half a pixel, else to at most `maxPoints` vertices. ' +
    'Anomaly positions are where the truck was (interpolated between fixes) when the anomaly opened or resolved.',
  request: {
    params: ShipmentIdParamSchema,
    query: z.object({
      zoom: z.coerce.number().min(0).max(22).optional().openapi({ description: 'Simplify for this zoom level' }),
      maxPoints: z.coerce.number().int().min(10).max(20_000).optional().openapi({ description: 'Vertex budget of the whole track (default 2000)' }),
    }),
  },
  responses: {
    200: { description: 'The layers', content: { 'application/json': { schema: MapSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
}));

const etaHistoryRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}/eta-history',
  tags: ['Shipments'],
  summary: 'Every ETA predicted for each stop (model and baseline), with the windows and real arrivals',
  request: { params: ShipmentIdParamSchema },
  responses: {
    200: { description: 'The history', content: { 'application/json': { schema: EtaHistorySchema } } },
    ...problemResponses(401, 403, 404),
  },
}));

const MAP_EVENT_TYPES = ['ARRIVED', 'DEPARTED', 'MANUAL_ARRIVAL', 'MANUAL_DEPARTURE', 'ANOMALY_OPENED', 'ANOMALY_RESOLVED'] as const;

export function shipmentMapRoutes({ db }: RouteDeps) {
  const router = createRouter();

  router.openapi(mapRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const query = c.req.valid('query');
    // The cursor first: whatever is stored after it reaches the client through the stream.
    const cursor = await currentShipmentCursor(db, row.id);
    const [stops, { track, vertices }, events] = await Promise.all([
      findStops(db, row.id),
      loadSimplifiedTrack(db, row, query),
      shipmentEventsOfTypes(db, row.id, MAP_EVENT_TYPES),
    ]);
    const where = (at: Date, data: Record<string, unknown>) => {
      if (typeof data.lat === 'number' && typeof data.lon === 'number') return { lat: data.lat, lon: data.lon };
      const p = positionAt(vertices, at.getTime() / 1000);
      return p ? { lat: p[1], lon: p[0] } : undefined;
    };
    const milestones = [];
    const anomalies = [];
    for (const event of events) {
      const position = where(event.occurred_at, event.data);
      if (!position) continue;
      const at = iso(event.occurred_at);
      if (event.type.startsWith('ANOMALY_')) {
        const detail = typeof event.data.detail === 'string' ? { detail: event.data.detail } : {};
        anomalies.push({ eventId: event.id, anomaly: String(event.data.anomaly), action: event.type === 'ANOMALY_OPENED' ? ('opened' as const) : ('resolved' as const), at, ...position, ...detail });
      } else {
        milestones.push({ eventId: event.id, type: event.type, ...(event.stop_sequence !== null ? { stopSequence: event.stop_sequence } : {}), at, ...position });
      }
    }
    return c.json(
      {
        track: trackLayers(track),
        fixes: track.fixes,
        vertices: track.vertices,
        stops: stops.map(toStopProgress),
        ...(row.route ? { plannedRoute: row.route } : {}),
        milestones,
        anomalies,
        streamCursor: encodeStreamCursor(cursor),
      },
      200,
    );
  });

  router.openapi(etaHistoryRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const cursor = await currentShipmentCursor(db, row.id);
    const [stops, predictions] = await Promise.all([findStops(db, row.id), shipmentEtaHistory(db, row.id)]);
    return c.json(
      {
        stops: stops.map(toStopProgress).map((s) => ({ sequence: s.sequence, name: s.name, ...(s.window ? { window: s.window } : {}), ...(s.arrivedAt ? { arrivedAt: s.arrivedAt } : {}) })),
        predictions,
        streamCursor: encodeStreamCursor(cursor),
      },
      200,
    );
  });

  return router;
}
