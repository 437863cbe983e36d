// Shipments stuck on a nondeterminism error are reset to the last good workflow task and carry on
// with the current code (worker/repair.ts): on the shared history of a shipment that got stuck
// after Temporal restarts, and on the dev server with a real nondeterminism error.
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { createLogger } from '../../infra/logger.js';
import { bundleShipmentWorkflows, createShipmentWorker } from '../../worker/worker.js';
import { repairStuckShipments, resetPointOf } from '../../worker/repair.js';
import { DEFAULT_WORKFLOW_SETTINGS, SHIPMENT_WORKFLOW_TYPE, shipmentStateQuery, shipmentWorkflowId } from '../../workflows/contract.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { fixPusher } from '../support/ingest.js';
import { startLocalTemporal } from '../support/temporal.js';
import { eventually, insertShipment, insertTenant, loadHistory, threeStopTrip } from './harness.js';

const logger = createLogger({ name: 'repair-test', level: 'silent' });
const STUCK = join(import.meta.dirname, 'histories/stuck/nondeterminism-history-s17.json.gz');

describe('the shared history of a shipment stuck after Temporal restarts', () => {
  const history = historyFromJSON(loadHistory(STUCK));
  const events = history.events ?? [];

  it('resets to the task before the one whose commands the worker built without the second signal', () => {
    // Signals 864 and 866 are recorded in one task (867); the original worker handled 866 later,
    // so its second ETA request (883) follows a task that, replayed, sees both signals at once.
    expect(resetPointOf(events)).toBe(882);
  });

  it('replays on the current code up to that point', async () => {
    const prefix = { events: events.filter((e) => Number(e.eventId) <= 881) };
    await Worker.runReplayHistory({ workflowBundle: await bundleShipmentWorkflows() }, prefix, 'stuck-s17-prefix');
  });
});

describe('a shipment stuck on nondeterminism on the dev server', () => {
  let env: TestWorkflowEnvironment;
  let database: TestDatabase;

  beforeAll(async () => {
    [env, database] = await Promise.all([startLocalTemporal({ dynamicConfig: { 'system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute': 1 } }), createTestDatabase()]);
  });

  afterAll(async () => {
    await env?.teardown();
    await database?.drop();
  });

  it('is reset and carries on with the current code, deciding every fix', async () => {
    const taskQueue = 'repair-test';
    const plan = await insertShipment(database.db, await insertTenant(database.db));
    const workflowId = shipmentWorkflowId(plan.tenantId, plan.shipmentId);
    // An older release starts the shipment and records its first task.
    const drifted = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: join(import.meta.dirname, 'fixtures/drifted-shipment.ts'), logger: new DefaultLogger('WARN') }),
    });
    const handle = await env.client.workflow.start(SHIPMENT_WORKFLOW_TYPE, { taskQueue, workflowId, args: [{ plan, settings: DEFAULT_WORKFLOW_SETTINGS }] });
    await drifted.runUntil(eventually(() => handle.fetchHistory(), (h) => (h.events ?? []).some((e) => e.timerStartedEventAttributes), 'the old release’s timer'));

    // Today's worker replays that history and fails every task with a nondeterminism error.
    const worker = await createShipmentWorker({ connection: env.nativeConnection, namespace: env.namespace, taskQueue, activities: createActivities({ db: database.db, logger }) });
    await worker.runUntil(async () => {
      const fixes = threeStopTrip();
      await fixPusher(database.db, env.client)(plan, fixes);
      const reported = async () => {
        for await (const _ of env.client.workflow.list({ query: `WorkflowId = '${workflowId}' AND TemporalReportedProblems IS NOT NULL` })) return true;
        return false;
      };
      await eventually(reported, (stuck) => stuck, 'reported as stuck');

      const repairs = await eventually(() => repairStuckShipments(env.client, logger), (r) => r.length === 1, 'one repair');
      expect(repairs[0]).toMatchObject({ workflowId, resetTo: 4 });
      const view = await eventually(
        () => env.client.workflow.getHandle(workflowId).query(shipmentStateQuery).catch(() => undefined),
        (v) => v?.status === 'DELIVERED' && v.fixCounts?.applied === fixes.length,
        'the trip decided after the reset',
        60_000,
      );
      expect(view!.milestones).toHaveLength(6);
      expect(await repairStuckShipments(env.client, logger)).toEqual([]);
    });
  });
});
