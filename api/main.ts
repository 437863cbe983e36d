// API entry point: configuration, connections, listener, the wake-up sweeper, graceful shutdown.
import { Client, Connection } from '@temporalio/client';
import { loadEnv } from '../infra/env.js';
import { createLogger, type Logger } from '../infra/logger.js';
import { createDatabase } from '../db/connection.js';
import { apiConfigFromEnv, createApp } from './app.js';
import { serveApi } from './http-server.js';
import { createApiKeyService } from './auth.js';
import { createFixIngest, startDeferredDelivery, startWakeupSweeper, temporalWakeup } from './fix-ingest.js';
import { createShipmentStreamHub } from './shipment-stream-hub.js';

const SWEEP_INTERVAL_MS = 5_000;
const DEFERRED_DELIVERY_INTERVAL_MS = 1_000;

/** The API may start before Temporal (npm start, docker compose): keep trying with backoff. */
async function connectTemporal(address: string, logger: Logger): Promise<Connection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await Connection.connect({ address });
    } catch (error) {
      const delayMs = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
      logger.warn({ err: error, address, attempt, delayMs }, 'Temporal not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

const env = loadEnv();
const logger = createLogger({ name: 'api', level: env.LOG_LEVEL });
const db = createDatabase(env.DATABASE_URL, { onIdleClientError: (err) => logger.warn({ err }, 'idle Postgres connection lost') });
const connection = await connectTemporal(env.TEMPORAL_ADDRESS, logger);
const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });

const config = apiConfigFromEnv(env);
const ingest = createFixIngest({ db, wake: temporalWakeup(temporal), logger, deferMs: env.INGEST_DEFER_MS });
// Revocations made by any API process reach this one's key cache through Postgres LISTEN/NOTIFY.
const keys = createApiKeyService({ db, logger, settings: config.apiKeys });
await keys.listen(env.DATABASE_URL);
const streams = createShipmentStreamHub({ db, logger, pollMs: config.console.streamPollMs, maxStreamsPerKey: config.console.maxStreamsPerKey });
const app = createApp({ db, temporal, logger, config, ingest, keys, streams });
const sweeper = startWakeupSweeper(ingest, { intervalMs: SWEEP_INTERVAL_MS, logger });
const deferredDelivery = startDeferredDelivery(ingest, { intervalMs: DEFERRED_DELIVERY_INTERVAL_MS, logger });

const { server, port } = await serveApi({ fetch: app.fetch, port: env.PORT });
logger.info({ port, docs: `http://localhost:${port}/docs`, console: `http://localhost:${port}/app` }, 'API listening');

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down');
  // Open live streams would keep the listener from closing.
  streams.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sweeper.stop();
  await deferredDelivery.stop();
  await keys.close();
  await connection.close();
  await db.destroy();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
