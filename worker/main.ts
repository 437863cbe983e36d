// Worker process: connects to Temporal (waiting for it when everything starts together),
// runs the shipment worker, the nondeterminism repair loop and the positions partition upkeep,
// and drains in-flight tasks on SIGINT/SIGTERM.
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { DEFAULT_WEBHOOK_ACTIVITY_SETTINGS } from '../activities/webhooks.js';
import { DEFAULT_WEBHOOK_HTTP_POLICY } from '../infra/webhook-http.js';
import { createDatabase } from '../db/connection.js';
import { loadEnv } from '../infra/env.js';
import { createLogger, type Logger } from '../infra/logger.js';
import { ensureEtaHistorySchedule } from './eta-history-schedule.js';
import { startPositionMaintenance } from './position-maintenance.js';
import { startRepairLoop } from './repair.js';
import { createShipmentWorker } from './worker.js';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Waits for Temporal to answer (everything may start at once); undefined when stopped meanwhile. */
async function connectWithRetry(address: string, logger: Logger, abort: AbortSignal): Promise<NativeConnection | undefined> {
  for (let attempt = 1; !abort.aborted; attempt += 1) {
    try {
      return await NativeConnection.connect({ address });
    } catch (error) {
      const waitMs = Math.min(500 * 2 ** Math.min(attempt - 1, 4), 5_000);
      logger.warn({ address, attempt, waitMs, reason: error instanceof Error ? error.message : String(error) }, 'Temporal not reachable yet; retrying');
      await delay(waitMs, undefined, { signal: abort }).catch(() => undefined);
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger({ name: 'worker', level: env.LOG_LEVEL });
  // The SDK's own logs (and workflow `log` calls) go through pino; signals are ours to handle.
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => logger[PINO_LEVEL[entry.level]]({ ...entry.meta }, entry.message)),
    shutdownSignals: [],
  });

  const stopping = new AbortController();
  let requestShutdown = (): void => stopping.abort();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      requestShutdown();
    });
  }

  const db = createDatabase(env.DATABASE_URL);
  let connection: NativeConnection | undefined;
  try {
    connection = await connectWithRetry(env.TEMPORAL_ADDRESS, logger, stopping.signal);
    if (!connection) return;
    const activities = createActivities({ db, logger, etaHistory: { minShipments: env.ETA_HISTORY_MIN_SHIPMENTS }, webhooks: { ...DEFAULT_WEBHOOK_ACTIVITY_SETTINGS, http: { ...DEFAULT_WEBHOOK_HTTP_POLICY, allowedHosts: env.WEBHOOK_ALLOWED_HOSTS } } });
    // Shipments and webhook deliveries on queues of their own: endpoints waiting on the network never hold the shipments' slots.
    const tuning = { maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS, maxConcurrentWorkflowTaskExecutions: env.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS, workflowThreadPoolSize: env.WORKER_WORKFLOW_THREADS };
    const workers = await Promise.all(
      [env.TEMPORAL_TASK_QUEUE, env.TEMPORAL_WEBHOOK_TASK_QUEUE].map((taskQueue) => createShipmentWorker({ connection: connection!, namespace: env.TEMPORAL_NAMESPACE, taskQueue, activities, tuning })),
    );
    if (stopping.signal.aborted) return;
    requestShutdown = () => {
      // A second signal while draining is harmless: the worker is already stopping.
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    logger.info({ address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE, taskQueues: [env.TEMPORAL_TASK_QUEUE, env.TEMPORAL_WEBHOOK_TASK_QUEUE] }, 'worker running');
    const client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }), namespace: env.TEMPORAL_NAMESPACE });
    if (env.ETA_HISTORY_REFRESH_MINUTES > 0) {
      // Not fatal: the ETA falls back to today's model until a refresh has run.
      await ensureEtaHistorySchedule(client, { taskQueue: env.TEMPORAL_TASK_QUEUE, everyMinutes: env.ETA_HISTORY_REFRESH_MINUTES, maxShipments: env.ETA_HISTORY_MAX_SHIPMENTS, logger }).catch((error: unknown) =>
        logger.error({ err: error }, 'ETA history schedule could not be ensured'),
      );
    }
    const repair = env.REPAIR_INTERVAL_SECONDS > 0 ? startRepairLoop(client, { intervalMs: env.REPAIR_INTERVAL_SECONDS * 1000, logger }) : undefined;
    const partitions =
      env.POSITIONS_MAINTENANCE_INTERVAL_MINUTES > 0
        ? startPositionMaintenance(
            db,
            {
              intervalMs: env.POSITIONS_MAINTENANCE_INTERVAL_MINUTES * 60_000,
              monthsAhead: env.POSITIONS_PARTITION_MONTHS_AHEAD,
              retentionMonths: env.POSITIONS_RETENTION_MONTHS,
              ...(env.POSITIONS_RETENTION_EXPORT_DESTINATION ? { exportDestination: env.POSITIONS_RETENTION_EXPORT_DESTINATION } : {}),
            },
            logger,
          )
        : undefined;
    try {
      await Promise.all(workers.map((worker) => worker.run()));
    } finally {
      await partitions?.stop();
      await repair?.stop();
      await client.connection.close();
    }
    logger.info('worker stopped');
  } finally {
    await connection?.close();
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  createLogger({ name: 'worker' }).fatal({ err: error }, 'worker failed');
  process.exit(1);
});
