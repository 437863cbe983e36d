// The real shipment worker for tests and scripts: the process-wide workflow bundle and, unless a
// test wraps them, the real activities on the given database; `stop()` drains it.
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createActivities, type ShipmentActivities } from '../../activities/index.js';
import { DEFAULT_WEBHOOK_ACTIVITY_SETTINGS, type WebhookActivitySettings } from '../../activities/webhooks.js';
import { DEFAULT_WEBHOOK_HTTP_POLICY } from '../../infra/webhook-http.js';
import { WEBHOOK_TASK_QUEUE } from '../../workflows/webhook-contract.js';
import type { Database } from '../../db/schema.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import { createShipmentWorker } from '../../worker/worker.js';

/** Receivers in tests listen on 127.0.0.1 over plain http. */
export const TEST_WEBHOOK_SETTINGS: WebhookActivitySettings = { ...DEFAULT_WEBHOOK_ACTIVITY_SETTINGS, pollMs: 100, http: { ...DEFAULT_WEBHOOK_HTTP_POLICY, allowedHosts: ['127.0.0.1'] } };

export interface RunningShipmentWorker {
  worker: Worker;
  /** The activities it runs (the real ones unless given). */
  activities: ShipmentActivities;
  /** Shuts the worker down and waits until its in-flight tasks are done. */
  stop(): Promise<void>;
}

export async function startShipmentWorker(options: {
  /** A test environment (`nativeConnection`, `namespace`) or any connection to a Temporal server. */
  temporal: { nativeConnection: NativeConnection; namespace?: string };
  db: Kysely<Database>;
  /** The worker's task queue; by default the contract's, where the API starts shipments. */
  taskQueue?: string;
  logger?: Logger;
  /** Wraps the real activities, e.g. to hold or count some calls. */
  activities?: (real: ShipmentActivities) => ShipmentActivities;
  /** Webhook delivery settings of the real activities (tests allow 127.0.0.1 and poll faster). */
  webhooks?: WebhookActivitySettings;
}): Promise<RunningShipmentWorker> {
  const real = createActivities({ db: options.db, logger: options.logger ?? createLogger({ name: 'test-worker', level: 'silent' }), webhooks: options.webhooks ?? TEST_WEBHOOK_SETTINGS });
  const activities = options.activities ? options.activities(real) : real;
  const create = (taskQueue: string | undefined) =>
    createShipmentWorker({
      connection: options.temporal.nativeConnection,
      ...(options.temporal.namespace ? { namespace: options.temporal.namespace } : {}),
      ...(taskQueue ? { taskQueue } : {}),
      activities,
    });
  const [worker, webhookWorker] = await Promise.all([create(options.taskQueue), create(WEBHOOK_TASK_QUEUE)]);
  const running = Promise.all([worker.run(), webhookWorker.run()]);
  return {
    worker,
    activities,
    async stop() {
      for (const w of [worker, webhookWorker]) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    },
  };
}
