// Shipments that started on v1 carry on under v2 without losing a decision: v1 hands over at its
// first live task (it continues as new), and v2 takes v1's carried state as its own.
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { applyFixes, initialTrackingState } from '../../domain/milestones.js';
import type { ShipmentPlan } from '../../domain/types.js';
import { createLogger } from '../../infra/logger.js';
import { createShipmentWorker } from '../../worker/worker.js';
import { DEFAULT_WORKFLOW_SETTINGS, fixesReceivedSignal, SHIPMENT_WORKFLOW_TYPE, shipmentStateQuery, shipmentWorkflowId, type ShipmentWorkflowInput } from '../../workflows/contract.js';
import type { shipmentWorkflow } from '../../workflows/shipment.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { fixPusher } from '../support/ingest.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';
import { eventually, insertShipment, insertTenant, isWorkflowIdle, loadHistory, THREE_STOPS, threeStopTrip } from './harness.js';

const logger = createLogger({ name: 'handover-test', level: 'silent' });
let env: TestWorkflowEnvironment;
let database: TestDatabase;

beforeAll(async () => {
  [env, database] = await Promise.all([startTimeSkippingTemporal(), createTestDatabase()]);
});

afterAll(async () => {
  await env?.teardown();
  await database?.drop();
});

const fixes = threeStopTrip();
const expected = applyFixes(initialTrackingState(THREE_STOPS), fixes, THREE_STOPS).events.flatMap((e) => (e.kind === 'milestone' ? [{ type: e.type, stopSequence: e.stopSequence, at: e.at }] : []));

async function settled(workflowId: string) {
  const handle = env.client.workflow.getHandle<typeof shipmentWorkflow>(workflowId);
  await eventually(() => isWorkflowIdle(handle), (idle) => idle, 'workflow idle');
  return handle.query(shipmentStateQuery);
}

describe('a v1 run', () => {
  it('hands over to v2 at its first live task, with the fixes it had queued', async () => {
    const taskQueue = 'handover-live';
    const plan = await insertShipment(database.db, await insertTenant(database.db));
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: join(import.meta.dirname, 'fixtures/v1-then-current.ts'), logger: new DefaultLogger('WARN') }),
      activities: createActivities({ db: database.db, logger }),
    });
    await worker.runUntil(async () => {
      const workflowId = shipmentWorkflowId(plan.tenantId, plan.shipmentId);
      const handle = await env.client.workflow.start(SHIPMENT_WORKFLOW_TYPE, { taskQueue, workflowId, args: [{ plan, settings: DEFAULT_WORKFLOW_SETTINGS }] });
      // The v1 API's last signal, then the v2 API's stored fixes.
      await handle.signal(fixesReceivedSignal, { fixes: fixes.slice(0, 20) });
      await fixPusher(database.db, env.client)(plan, fixes.slice(20));
      const view = await eventually(() => settled(workflowId), (v) => v.status === 'DELIVERED', 'delivered on v2');
      expect(view.milestones).toEqual(expected);
      expect(view.fixCounts).toMatchObject({ applied: fixes.length, duplicates: 0 });
      const firstRun = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
      expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
      await env.client.workflow.getHandle(workflowId).terminate('test finished');
    });
  });
});

describe('v1 state carried into v2', () => {
  it('keeps every decision v1 made and goes on deciding from there', async () => {
    // The input v1 handed to its second run in a recorded history: its state after 32 fixes.
    const started = (loadHistory(join(import.meta.dirname, 'histories/v1-continue-as-new-run2.json')) as { events: { workflowExecutionStartedEventAttributes: { input: { payloads: { data: string }[] } } }[] }).events[0]!;
    const input = JSON.parse(Buffer.from(started.workflowExecutionStartedEventAttributes.input.payloads[0]!.data, 'base64').toString()) as ShipmentWorkflowInput & { carried: { state: { milestones: unknown[] } } };
    const tenantId = await insertTenant(database.db);
    const inserted = await insertShipment(database.db, tenantId);
    const plan: ShipmentPlan = { ...input.plan, tenantId, shipmentId: inserted.shipmentId, reference: inserted.reference };
    const taskQueue = 'handover-state';
    const worker = await createShipmentWorker({ connection: env.nativeConnection, namespace: env.namespace, taskQueue, activities: createActivities({ db: database.db, logger }) });
    await worker.runUntil(async () => {
      const workflowId = shipmentWorkflowId(plan.tenantId, plan.shipmentId);
      await env.client.workflow.start(SHIPMENT_WORKFLOW_TYPE, { taskQueue, workflowId, args: [{ ...input, plan }] });
      const carried = await settled(workflowId);
      expect(carried.milestones).toEqual(input.carried.state.milestones);
      expect(carried.fixCounts).toMatchObject({ applied: 32 });
      // The whole trip arrives through the store: what v1 already saw is too old to decide again.
      await fixPusher(database.db, env.client)(plan, fixes);
      const view = await eventually(() => settled(workflowId), (v) => v.status === 'DELIVERED', 'delivered after the handover');
      expect(view.milestones).toEqual(expected);
      await env.client.workflow.getHandle(workflowId).terminate('test finished');
    });
  });
});
