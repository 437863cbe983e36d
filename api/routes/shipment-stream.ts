// GET /v1/shipments/{id}/stream: Server-Sent Events of a shipment's changes (new fixes, timeline
// events such as milestones, anomalies and status changes, ETA predictions), for the console and
// any API client. Each event's id is a resumable cursor: reconnecting with `Last-Event-ID` (or
// `?after=`) continues exactly after it. The process's one poller feeds every stream.
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { currentShipmentCursor, type ShipmentChange } from '../../db/repositories/shipment-changes.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { ProblemError, validationProblem } from '../problem.js';
import { createRouter, loadShipment } from '../router.js';
import { problemResponses, ShipmentIdParamSchema, text } from '../schemas.js';
import { encodeStreamCursor, parseStreamCursor, TooManyStreamsError, type DeliveredChange, type ShipmentStreamHub } from '../shipment-stream-hub.js';

const HEARTBEAT_MS = 15_000;
/** What an EventSource waits before reconnecting after the stream drops. */
const RETRY_MS = 2_000;

const EVENT_NAMES: Record<ShipmentChange['source'], string> = { position: 'position', event: 'timeline', eta: 'eta' };

/** One Server-Sent Event as a client parses it (`event`, `data` as JSON text, `id` to resume from, `retry`). */
const StreamEventSchema = z
  .object({
    event: z.enum(['ready', 'position', 'timeline', 'eta']).openapi({ description: '`ready` first, then one per change' }),
    data: z.string().openapi({ description: 'The change as JSON: a fix, a timeline event or an ETA prediction' }),
    id: z.string().optional().openapi({ description: 'Cursor to resume from with Last-Event-ID' }),
    retry: z.number().int().optional(),
  })
  .openapi('ShipmentStreamEvent');

const streamRoute = createRoute(secured({
  method: 'get',
  path: '/v1/shipments/{id}/stream',
  tags: ['Shipments'],
  summary: "Live stream (Server-Sent Events) of the shipment's changes",
  description: [
    'Events: `position` (a stored fix: `recordedAt, lat, lon, speedKmh?, headingDeg?, temperatureC?`), ',
    '`timeline` (a timeline event as in `/timeline`: milestones, status changes, anomalies opened and resolved, delivery events), ',
    '`eta` (a stored prediction: `stopSequence, source (model|baseline), predictedAt, predictedArrival`). ',
    'Every event has an `id`; send it back as `Last-Event-ID` (EventSource does so on reconnect) or as `?after=` to resume right after it. ',
    'Without either the stream starts from now. Changes reach the stream a second or two after they are stored. ',
    'A comment line every 15 s keeps proxies from closing an idle stream. The stream ends when the key is revoked or the console session ends; ',
    'open streams are limited per key (429 beyond).',
  ].join(''),
  request: {
    params: ShipmentIdParamSchema,
    query: z.object({ after: text({ max: 100 }).optional().openapi({ description: 'Resume after this event id (as `Last-Event-ID`)' }) }),
    headers: z.object({ 'last-event-id': text({ max: 100 }).optional().openapi({ description: 'The id of the last event received' }) }),
  },
  responses: {
    200: { description: 'An endless text/event-stream: one event per change', content: { 'text/event-stream': { schema: StreamEventSchema } } },
    ...problemResponses(400, 401, 403, 404),
  },
}));


export function shipmentStreamRoutes({ db }: RouteDeps, hub: ShipmentStreamHub) {
  const router = createRouter();

  router.openapi(streamRoute, async (c) => {
    const row = await loadShipment(c, db, c.req.valid('param').id);
    const resumeFrom = c.req.valid('header')['last-event-id'] ?? c.req.valid('query').after;
    const field = c.req.valid('header')['last-event-id'] !== undefined ? 'Last-Event-ID' : 'after';
    const parsed = resumeFrom === undefined ? undefined : parseStreamCursor(resumeFrom);
    if (resumeFrom !== undefined && !parsed) throw validationProblem([{ field, message: 'must be an event id of this stream (<position>.<event>.<eta>)' }]);
    const cursor = parsed ?? (await currentShipmentCursor(db, row.id));
    const { keyId } = c.get('auth');
    const recheckAuth = c.get('recheckAuth');
    const logger = c.get('logger').child({ tenantId: row.tenant_id, shipmentId: row.id, workflowId: row.workflow_id });

    let ended: (reason: string) => void = () => undefined;
    const finished = new Promise<string>((resolve) => (ended = resolve));
    let unsubscribe: () => void;
    // Set synchronously by streamSSE below, before any poll can run.
    let send: (changes: DeliveredChange[]) => Promise<void> = async () => undefined;
    try {
      unsubscribe = hub.subscribe({
        shipmentId: row.id,
        keyId,
        cursor,
        deliver: (changes) => send(changes),
        stillAuthorized: recheckAuth,
        end: (reason) => ended(reason),
      });
    } catch (error) {
      if (error instanceof TooManyStreamsError) {
        throw new ProblemError('rateLimited', 429, `Too many open streams for this API key (${error.message}); close one first.`, { headers: { 'retry-after': '5' } });
      }
      throw error;
    }

    return streamSSE(c, async (stream) => {
      stream.onAbort(() => ended('client disconnected'));
      send = async (changes) => {
        for (const { change, cursor: after } of changes) {
          const data = change.source === 'position' ? change.fix : change.source === 'event' ? change.event : change.prediction;
          await stream.writeSSE({ event: EVENT_NAMES[change.source], id: encodeStreamCursor(after), data: JSON.stringify(data) });
        }
      };
      logger.info({ cursor: encodeStreamCursor(cursor), openStreams: hub.openStreams() }, 'shipment stream opened');
      await stream.writeSSE({ event: 'ready', id: encodeStreamCursor(cursor), retry: RETRY_MS, data: JSON.stringify({ shipmentId: row.id }) });
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => ended('write failed')), HEARTBEAT_MS);
      const reason = await finished;
      clearInterval(heartbeat);
      unsubscribe();
      logger.info({ reason }, 'shipment stream closed');
    });
  });

  return router;
}
