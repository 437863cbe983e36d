// GET /v1/exports/positions: every fix of the tenant in a time range as NDJSON, streamed in fix-time
// order. Pages are read from Postgres only as the client takes them (a pull stream holding one
// page ahead), so a slow reader holds one page of memory, not the range. Bulk history goes
// through `npm run export` (Parquet) instead.
import { createRoute, z } from '@hono/zod-openapi';
import { listPositions, toStoredPosition } from '../../db/repositories/positions.js';
import type { RouteDeps } from '../context.js';
import { secured } from '../permissions.js';
import { createRouter } from '../router.js';
import { isoTime, problemResponses, StoredPositionSchema } from '../schemas.js';

/** Fixes per Postgres read, i.e. per chunk of the response. */
export const EXPORT_PAGE_SIZE = 1_000;

const ExportPositionsQuerySchema = z
  .object({
    from: isoTime.openapi({ description: 'Fix time from (inclusive)' }),
    to: isoTime.openapi({ description: 'Fix time to (exclusive)' }),
  })
  .refine((q) => Date.parse(q.to) > Date.parse(q.from), { message: 'to must be after from', path: ['to'] });

const exportPositionsRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/exports/positions',
    tags: ['Exports'],
    summary: "The tenant's fixes in a time range, as NDJSON",
    description:
      'One stored fix per line (the fields of `GET /v1/shipments/{id}/positions` items), every fix of the tenant whose `recordedAt` is in [from, to), ' +
      'routed to a shipment or not, in fix-time order. The response streams: it starts at once and is read from the database as fast as the client reads it. ' +
      'For Parquet files of whole days use `npm run export`.',
    request: { query: ExportPositionsQuerySchema },
    responses: {
      200: { description: 'Newline-delimited JSON, one StoredPosition per line', content: { 'application/x-ndjson': { schema: StoredPositionSchema } } },
      ...problemResponses(400, 401, 403, 503),
    },
  }),
);

export function exportRoutes({ db }: RouteDeps) {
  const router = createRouter();
  router.openapi(exportPositionsRoute, async (c) => {
    const { from, to } = c.req.valid('query');
    const { tenantId } = c.get('auth');
    const logger = c.get('logger').child({ tenantId });
    const read = (cursor?: string) => listPositions(db, tenantId, { tenant: true }, { from, to, limit: EXPORT_PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    const encoder = new TextEncoder();
    const lines = (items: Awaited<ReturnType<typeof read>>['items']) => encoder.encode(items.map((row) => `${JSON.stringify(toStoredPosition(row))}\n`).join(''));
    // The first page before the response starts: a database outage is still a 503, not a cut stream.
    let page = await read();
    let rows = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (page.items.length > 0) controller.enqueue(lines(page.items));
          rows += page.items.length;
          if (!page.nextCursor) {
            logger.info({ rows, from, to }, 'positions export streamed');
            controller.close();
            return;
          }
          try {
            page = await read(page.nextCursor);
          } catch (error) {
            logger.warn({ err: error, rows }, 'positions export cut short');
            controller.error(error);
          }
        },
        cancel() {
          logger.info({ rows, from, to }, 'positions export cancelled by the client');
        },
      },
      { highWaterMark: 1 },
    );
    return c.body(body, 200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  });
  return router;
}
