// The real shipment worker for tests and scripts: the process-wide workflow bundle and, unless a
// test wraps them, the real activities on the given database; `stop()` drains it.
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createActivities, type ShipmentActivities } from '../../activities/index.js';
import type { Database } from '../../db/schema.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import { createShipmentWorker } from '../../worker/worker.js';

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
}): Promise<RunningShipmentWorker> {
  const real = createActivities({ db: options.db, logger: options.logger ?? createLogger({ name: 'test-worker', level: 'silent' }) });
  const activities = options.activities ? options.activities(real) : real;
  const worker = await createShipmentWorker({
    connection: options.temporal.nativeConnection,
    ...(options.temporal.namespace ? { namespace: options.temporal.namespace } : {}),
    ...(options.taskQueue ? { taskQueue: options.taskQueue } : {}),
    activities,
  });
  const running = worker.run();
  return {
    worker,
    activities,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
