// The whole platform in-process for end-to-end tests: a fresh database, the Temporal dev server,
// the real shipment worker, the fix ingest with its wake-up sweeper, and the API on a real listener.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createApp, type AppDeps } from '../../api/app.js';
import { serveApi } from '../../api/http-server.js';
import { issueApiKey } from '../../api/auth.js';
import { createFixIngest, startDeferredDelivery, startWakeupSweeper, temporalWakeup, type FixIngest } from '../../api/fix-ingest.js';
import { createTenant } from '../../db/repositories/tenants.js';
import type { ApiKeyRole } from '../../db/schema.js';
import type { Logger } from '../../infra/logger.js';
import type { WebhookActivitySettings } from '../../activities/webhooks.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { startLocalTemporal } from './temporal.js';
import { startShipmentWorker } from './worker.js';

export interface InProcessStack {
  database: TestDatabase;
  temporal: TestWorkflowEnvironment;
  baseUrl: string;
  tenantId: string;
  apiKey: string;
  /** Uploads stored inside a calm zone, so far (deferral on only). */
  deferredUploads(): number;
  close(): Promise<void>;
}

export async function startInProcessStack(options: {
  logger: Logger;
  tenantName: string;
  role: ApiKeyRole;
  config?: AppDeps['config'];
  /** The worker's webhook delivery settings (default: the tests', allowing 127.0.0.1). */
  webhooks?: WebhookActivitySettings;
  /** Calm-zone fixes wait this long for their wake-up (default 0: every upload wakes the workflow). */
  deferMs?: number;
}): Promise<InProcessStack> {
  const { logger } = options;
  const [database, temporal] = await Promise.all([createTestDatabase(), startLocalTemporal()]);
  const worker = await startShipmentWorker({ temporal, db: database.db, logger, ...(options.webhooks ? { webhooks: options.webhooks } : {}) });
  const ingest = countingDeferrals(createFixIngest({ db: database.db, wake: temporalWakeup(temporal.client), logger, deferMs: options.deferMs ?? 0 }));
  const sweeper = startWakeupSweeper(ingest, { intervalMs: 1_000, logger });
  const deferredDelivery = startDeferredDelivery(ingest, { intervalMs: 250, logger });
  const app = createApp({ db: database.db, temporal: temporal.client, logger, ingest, config: options.config });
  const { server, port } = await serveApi({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  const tenant = await createTenant(database.db, { name: options.tenantName });
  const { apiKey } = await issueApiKey(database.db, { tenantId: tenant.id, role: options.role });
  return {
    database,
    temporal,
    baseUrl: `http://127.0.0.1:${port}`,
    tenantId: tenant.id,
    apiKey,
    deferredUploads: () => ingest.deferredUploads,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sweeper.stop();
      await deferredDelivery.stop();
      await worker.stop();
      await temporal.teardown();
      await database.drop();
    },
  };
}

function countingDeferrals(ingest: FixIngest): FixIngest & { deferredUploads: number } {
  const counted = {
    ...ingest,
    deferredUploads: 0,
    async store(...args: Parameters<FixIngest['store']>) {
      const result = await ingest.store(...args);
      if (result.deferred) counted.deferredUploads += 1;
      return result;
    },
  };
  return counted;
}
