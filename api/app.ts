// The HTTP API as a Hono app: no port, so tests drive it with app.request().
import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Context } from 'hono';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { InvalidCursorError } from '../db/repositories/pagination.js';
import { isPostgresUnavailable } from '../db/availability.js';
import { authenticate, createApiKeyService } from './auth.js';
import { DEFAULT_API_CONFIG, type AppDeps, type AppEnv, type RouteDeps } from './context.js';
import { ProblemError, problemResponse, validationProblem, type Problem } from './problem.js';
import { validationHook } from './router.js';
import { RequestIdSchema } from './schemas.js';
import { createFixIngest, temporalWakeup } from './fix-ingest.js';
import { mountDocs } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { positionRoutes } from './routes/positions.js';
import { shipmentBatchRoutes } from './routes/shipment-batches.js';
import { shipmentRoutes } from './routes/shipments.js';
import { shipmentEventRoutes } from './routes/shipment-events.js';
import { assignmentRoutes } from './routes/assignments.js';
import { carrierRoutes } from './routes/carriers.js';
import { driverRoutes } from './routes/drivers.js';
import { vehicleRoutes } from './routes/vehicles.js';
import { deviceRoutes } from './routes/devices.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { auditEventRoutes } from './routes/audit-events.js';
import { analyticsRoutes } from './routes/analytics.js';
import { exportRoutes } from './routes/exports.js';
import { consoleRoutes } from './routes/console.js';
import { sessionRoutes } from './routes/sessions.js';
import { shareLinkRoutes } from './routes/share-links.js';
import { shipmentMapRoutes } from './routes/shipment-map.js';
import { shipmentOverviewRoutes } from './routes/shipment-overview.js';
import { shipmentStreamRoutes } from './routes/shipment-stream.js';
import { eventRoutes } from './routes/events.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';
import { isPublicOperation } from './permissions.js';
import { createConsoleSessions } from './sessions.js';
import { createShipmentStreamHub } from './shipment-stream-hub.js';

export type { ApiConfig, AppDeps } from './context.js';
export { apiConfigFromEnv } from './context.js';

function toProblem(error: unknown, c: Context<AppEnv>): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof ProblemError) return { problem: error.problem, headers: error.headers };
  if (error instanceof InvalidCursorError) return toProblem(validationProblem([{ field: 'cursor', message: error.message }]), c);
  if (error instanceof HTTPException) {
    if (error.status === 413) return toProblem(new ProblemError('tooLarge', 413, 'The request body exceeds the size limit.'), c);
    if (error.status === 415) return toProblem(new ProblemError('unsupportedMediaType', 415, 'Send the body as application/json.'), c);
    if (error.status === 400) return toProblem(validationProblem([{ field: '(body)', message: error.message }], 'The request body is not valid JSON.'), c);
    return toProblem(new ProblemError(error.status >= 500 ? 'internal' : 'conflict', error.status, error.message), c);
  }
  if (error instanceof ServiceError || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    c.get('logger').warn({ err: error }, 'temporal unavailable');
    return toProblem(new ProblemError('unavailable', 503, 'The workflow service did not answer in time; retry.', { headers: { 'retry-after': '2' } }), c);
  }
  if (isPostgresUnavailable(error)) {
    c.get('logger').warn({ err: error }, 'postgres unavailable');
    return toProblem(new ProblemError('unavailable', 503, 'The database is unavailable; retry the same request.', { headers: { 'retry-after': '2' } }), c);
  }
  c.get('logger').error({ err: error }, 'unhandled error');
  return toProblem(new ProblemError('internal', 500, 'An unexpected error occurred; it has been logged.'), c);
}

/** Builds the API. `config` falls back to DEFAULT_API_CONFIG field by field. */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const config = {
    ...DEFAULT_API_CONFIG,
    ...deps.config,
    apiKeys: { ...DEFAULT_API_CONFIG.apiKeys, ...deps.config?.apiKeys },
    console: { ...DEFAULT_API_CONFIG.console, ...deps.config?.console },
    webhooks: { ...DEFAULT_API_CONFIG.webhooks, ...deps.config?.webhooks },
  };
  const ingest = deps.ingest ?? createFixIngest({ db: deps.db, wake: temporalWakeup(deps.temporal), logger: deps.logger });
  const keys = deps.keys ?? createApiKeyService({ db: deps.db, logger: deps.logger, settings: config.apiKeys });
  const routeDeps: RouteDeps = { db: deps.db, temporal: deps.temporal, config, ingest, keys };
  const sessions = createConsoleSessions({ db: deps.db, ttlMs: config.console.sessionTtlMs });
  const streams =
    deps.streams ?? createShipmentStreamHub({ db: deps.db, logger: deps.logger, pollMs: config.console.streamPollMs, maxStreamsPerKey: config.console.maxStreamsPerKey });
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  // One log line per request; headers (and so the Authorization key) are never logged.
  app.use('*', async (c, next) => {
    const started = performance.now();
    // Echoed and logged, so only a well-formed id is kept; anything else is replaced, never refused.
    const supplied = RequestIdSchema.safeParse(c.req.header('x-request-id'));
    const requestId = supplied.success ? supplied.data : randomUUID();
    c.set('logger', deps.logger.child({ requestId }));
    c.set('logFields', {});
    c.header('x-request-id', requestId);
    await next();
    const status = c.res.status;
    const line = { method: c.req.method, path: c.req.path, status, durationMs: Math.round(performance.now() - started), ...c.get('logFields') };
    if (status >= 500) c.get('logger').error(line, 'request failed');
    else c.get('logger').info(line, 'request');
  });

  app.use('/v1/*', bodyLimit({ maxSize: config.bodyLimitBytes, onError: () => { throw new HTTPException(413); } }));
  const requireCaller = authenticate(keys, sessions);
  // The few public /v1 operations (permissions.ts PUBLIC_OPERATIONS) carry their own credential.
  app.use('/v1/*', (c, next) => (isPublicOperation(c.req.method, c.req.path) ? next() : requireCaller(c, next)));

  app.route('/', healthRoutes(routeDeps));
  app.route('/', shipmentRoutes(routeDeps));
  app.route('/', shipmentBatchRoutes(routeDeps));
  app.route('/', shipmentEventRoutes(routeDeps));
  app.route('/', assignmentRoutes(routeDeps));
  app.route('/', positionRoutes(routeDeps));
  app.route('/', carrierRoutes(routeDeps));
  app.route('/', driverRoutes(routeDeps));
  app.route('/', vehicleRoutes(routeDeps));
  app.route('/', deviceRoutes(routeDeps));
  app.route('/', apiKeyRoutes(routeDeps));
  app.route('/', auditEventRoutes(routeDeps));
  app.route('/', analyticsRoutes(routeDeps));
  app.route('/', exportRoutes(routeDeps));
  app.route('/', sessionRoutes(routeDeps, sessions));
  app.route('/', shipmentStreamRoutes(routeDeps, streams));
  app.route('/', shipmentMapRoutes(routeDeps));
  app.route('/', shipmentOverviewRoutes(routeDeps));
  app.route('/', shareLinkRoutes(routeDeps));
  app.route('/', eventRoutes(routeDeps));
  app.route('/', webhookEndpointRoutes(routeDeps));
  app.route('/', consoleRoutes(routeDeps, sessions));
  mountDocs(app);

  app.notFound((c) => problemResponse(c, new ProblemError('notFound', 404, `No route for ${c.req.method} ${c.req.path}.`).problem));
  app.onError((error, c) => {
    const { problem, headers } = toProblem(error, c);
    return problemResponse(c, problem, headers);
  });
  return app;
}
