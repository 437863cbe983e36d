// Every scenario end to end: the simulator drives a small fleet at strong acceleration through a
// real API listener (real Postgres, the real Temporal dev server, the real shipment worker) and
// each shipment must show the milestones and final status its scenario is meant to produce.
// The anomaly each scenario provokes is required as soon as the workflow raises anomalies.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createApp } from '../../api/app.js';
import { issueApiKey } from '../../api/auth.js';
import { createSignalOutbox, startSignalSweeper, temporalFixDelivery } from '../../api/signal-outbox.js';
import { createTenant } from '../../db/repositories/tenants.js';
import { createLogger } from '../../infra/logger.js';
import { ApiClient } from '../../simulator/api-client.js';
import { drivePlan } from '../../simulator/drive.js';
import { planSimulation, SCENARIO_NAMES } from '../../simulator/scenarios.js';
import { createShipmentWorker } from '../../worker/worker.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startLocalTemporal } from '../support/temporal.js';

/** The workflow raises anomalies once it wires the detectors of domain/anomalies/. */
const workflowRaisesAnomalies = /domain\/anomalies/.test(readFileSync(new URL('../../workflows/shipment.ts', import.meta.url), 'utf8'));

const logger = createLogger({ name: 'simulator-e2e', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let database: TestDatabase;
let temporal: TestWorkflowEnvironment;
let worker: Worker;
let workerRun: Promise<void>;
let server: ServerType;
let sweeper: { stop(): Promise<void> };
let baseUrl: string;
let apiKey: string;

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), startLocalTemporal()]);
  worker = await createShipmentWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    activities: createActivities({ db: database.db, logger }),
  });
  workerRun = worker.run();
  const outbox = createSignalOutbox({ db: database.db, deliver: temporalFixDelivery(temporal.client), logger });
  sweeper = startSignalSweeper(outbox, { intervalMs: 1_000, logger });
  const app = createApp({ db: database.db, temporal: temporal.client, logger, outbox });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tenant = await createTenant(database.db, { name: 'Simulated Freight' });
  apiKey = (await issueApiKey(database.db, { tenantId: tenant.id, role: 'admin' })).apiKey;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await sweeper?.stop();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun;
  await temporal?.teardown();
  await database?.drop();
});

describe('simulator scenarios against the real platform', () => {
  it('produces each scenario’s milestones and final status (and its anomaly once anomalies exist)', { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    // One short trip per scenario, all driven at once: an hour of trip per real second.
    const plans = SCENARIO_NAMES.map((scenario) => planSimulation({ seed: `e2e-${scenario}`, vehicles: 1, scenario, minKm: 120, maxKm: 300 }));
    const reports = await Promise.all(
      plans.map((plan, i) =>
        drivePlan({
          client: new ApiClient({ baseUrl, apiKey }),
          plan,
          acceleration: 3_600,
          runTag: `e2e${i}`,
          log: (line) => lines.push(line),
          progressEveryMs: 0,
          settleMs: 60_000,
          checkAnomalies: workflowRaisesAnomalies,
        }),
      ),
    );
    for (const report of reports) {
      // The API offers fleet routes and device keys, so the simulator drives every truck as its own device.
      expect(report.mode).toBe('device-keys');
      for (const check of report.checks) {
        expect(check.problems, `${check.scenario}: ${check.problems.join('; ')}\n${lines.join('\n')}`).toEqual([]);
        // Milestones carry the fixes' simulated times, which are never in the future.
        for (const m of check.view.milestones) expect(Date.parse(m.at)).toBeLessThanOrEqual(Date.now());
      }
    }
    const statuses = reports.flatMap((r) => r.checks.map((c) => `${c.scenario}:${c.view.status}`));
    expect(statuses).toContain('cancellation:CANCELLED');
    expect(statuses).toContain('on-time:DELIVERED');
  });
});
