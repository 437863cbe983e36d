// The tenant's change feed: GET /v1/events (pages in commit order) and GET /v1/events/stream (the
// same events as Server-Sent Events, resuming from Last-Event-ID). A cursor is a feed sequence,
// assigned at commit (db/repositories/event-feed.ts), so reading after it never skips an event
// whose transaction committed late.
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { Kysely } from 'kysely';
import { feedHead, readFeed } from '../../db/repositories/event-feed.js';
import type { Database } from '../../db/schema.js';
import { EVENT_TYPES, isEventType, type EventType } from '../../domain/events/catalogue.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { ProblemError, validationProblem } from '../problem.js';
import { createRouter } from '../router.js';
import { limitParam, problemResponses, text, uuid } from '../schemas.js';
import { EventSchema } from '../event-catalogue.js';

const HEARTBEAT_MS = 15_000;
const RETRY_MS = 2_000;
const STREAM_POLL_MS = 1_000;
const STREAM_BATCH = 200;
const CURSOR = /^(0|[1-9][0-9]{0,18})$/;

const cursorText = text({ max: 100, trim: false });
const typesParam = text({ max: 1000 })
  .optional()
  .openapi({ description: `Comma-separated catalogue types to keep (${EVENT_TYPES.join(', ')}); all when absent` });

const FeedQuerySchema = z.object({
  after: cursorText.optional().openapi({ description: 'A `cursor` from an event or `nextCursor`: events after it; from the start of the feed when absent' }),
  types: typesParam,
  shipmentId: uuid().optional().openapi({ description: "Only this shipment's events" }),
  limit: limitParam(500, 100),
});

const FeedPageSchema = z
  .object({
    items: z.array(EventSchema),
    nextCursor: z.string().openapi({ description: 'Pass as `after` for the next page; the same cursor again when nothing new has committed yet' }),
  })
  .openapi('EventPage');

const StreamEventSchema = z
  .object({
    event: z.enum(['ready', 'event']).openapi({ description: '`ready` first, then one `event` per feed event' }),
    data: z.string().openapi({ description: 'JSON: the event, as in GET /v1/events' }),
    id: z.string().optional().openapi({ description: "The event's cursor: resume with Last-Event-ID" }),
    retry: z.number().int().optional(),
  })
  .openapi('EventStreamEvent');

const tags = ['Events'];

const feedRoute = createRoute(secured({
  method: 'get',
  path: '/v1/events',
  tags,
  summary: "The tenant's change feed, in commit order",
  description:
    'Every event of the catalogue (see `webhooks`) of every shipment of the tenant. The cursor is a per-tenant sequence assigned when the event commits, so polling with `after=nextCursor` never skips an event that committed late.',
  request: { query: FeedQuerySchema },
  responses: {
    200: { description: 'A page of events', content: { 'application/json': { schema: FeedPageSchema } } },
    ...problemResponses(400, 401, 403),
  },
}));

const streamRoute = createRoute(secured({
  method: 'get',
  path: '/v1/events/stream',
  tags,
  summary: "The tenant's change feed as Server-Sent Events",
  description:
    'Each `event` carries one feed event as JSON and its cursor as `id`: reconnecting with `Last-Event-ID` (EventSource does it) or `?after=` resumes right after it. Without either the stream starts from now. New events reach the stream within about a second; a comment every 15 s keeps proxies from closing it. Open streams are limited per key (429 beyond).',
  request: {
    query: z.object({ after: cursorText.optional().openapi({ description: 'Resume after this cursor (as `Last-Event-ID`)' }), types: typesParam, shipmentId: uuid().optional() }),
    headers: z.object({ 'last-event-id': cursorText.optional().openapi({ description: 'The id of the last event received' }) }),
  },
  responses: {
    200: { description: 'An endless text/event-stream', content: { 'text/event-stream': { schema: StreamEventSchema } } },
    ...problemResponses(400, 401, 403, 429),
  },
}));

function parseTypes(types: string | undefined): EventType[] {
  if (types === undefined) return [];
  const list = types.split(',').map((t) => t.trim());
  const unknown = list.filter((t) => !isEventType(t));
  if (unknown.length > 0) throw validationProblem([{ field: 'types', message: `unknown event type ${unknown.map((t) => JSON.stringify(t)).join(', ')}; one of ${EVENT_TYPES.join(', ')}` }]);
  return list as EventType[];
}

/** A cursor of this tenant's feed: a sequence it has handed out (0 is its start), else a 400 naming `field`. */
async function parseCursor(db: Kysely<Database>, tenantId: string, cursor: string, field: string): Promise<string> {
  if (!CURSOR.test(cursor) || BigInt(cursor) > BigInt(await feedHead(db, tenantId))) {
    throw validationProblem([{ field, message: 'must be a cursor of your feed (an event `cursor` or a `nextCursor`)' }]);
  }
  return cursor;
}

export function eventRoutes({ db, config }: RouteDeps) {
  const router = createRouter();
  /** Open event streams per API key in this process, bounded like the shipment streams. */
  const openStreams = new Map<string, number>();

  router.openapi(feedRoute, async (c) => {
    const { tenantId } = c.get('auth');
    const query = c.req.valid('query');
    const types = parseTypes(query.types);
    const afterSeq = query.after === undefined ? '0' : await parseCursor(db, tenantId, query.after, 'after');
    const items = await readFeed(db, tenantId, { afterSeq, limit: query.limit, types, ...(query.shipmentId ? { shipmentId: query.shipmentId } : {}) });
    return c.json({ items, nextCursor: items.at(-1)?.cursor ?? afterSeq } as z.infer<typeof FeedPageSchema>, 200);
  });

  router.openapi(streamRoute, async (c) => {
    const { tenantId } = c.get('auth');
    const query = c.req.valid('query');
    const lastEventId = c.req.valid('header')['last-event-id'];
    const types = parseTypes(query.types);
    const resumeFrom = lastEventId ?? query.after;
    const field = lastEventId !== undefined ? 'Last-Event-ID' : 'after';
    let cursor = resumeFrom === undefined ? await feedHead(db, tenantId) : await parseCursor(db, tenantId, resumeFrom, field);
    const recheckAuth = c.get('recheckAuth');
    const logger = c.get('logger').child({ tenantId });
    const { keyId } = c.get('auth');
    const max = config.console.maxStreamsPerKey;
    if ((openStreams.get(keyId) ?? 0) >= max) {
      throw new ProblemError('rateLimited', 429, `Too many open streams for this API key (at most ${max} per API process); close one first.`, { headers: { 'retry-after': '5' } });
    }
    openStreams.set(keyId, (openStreams.get(keyId) ?? 0) + 1);
    const release = () => {
      const left = (openStreams.get(keyId) ?? 1) - 1;
      if (left > 0) openStreams.set(keyId, left);
      else openStreams.delete(keyId);
    };

    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      logger.info({ cursor }, 'event stream opened');
      try {
        await stream.writeSSE({ event: 'ready', id: cursor, retry: RETRY_MS, data: JSON.stringify({ cursor }) });
        let lastWrite = Date.now();
        while (open) {
          const items = await readFeed(db, tenantId, { afterSeq: cursor, limit: STREAM_BATCH, types, ...(query.shipmentId ? { shipmentId: query.shipmentId } : {}) });
          for (const item of items) {
            await stream.writeSSE({ event: 'event', id: item.cursor, data: JSON.stringify(item) });
            cursor = item.cursor;
            lastWrite = Date.now();
          }
          if (items.length === STREAM_BATCH) continue;
          if (Date.now() - lastWrite >= HEARTBEAT_MS) {
            await stream.write(': keep-alive\n\n');
            lastWrite = Date.now();
          }
          if (!(await recheckAuth().catch(() => true))) break;
          await stream.sleep(STREAM_POLL_MS);
        }
      } finally {
        release();
        logger.info({ cursor }, 'event stream closed');
      }
    });
  });

  return router;
}
