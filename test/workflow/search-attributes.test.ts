// Search attributes and current details on the real dev server (the time-skipping server has no
// visibility queries): operators find shipments in the Temporal UI by TenantId and ShipmentStatus.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributes, shipmentStateQuery, shipmentWorkflowId } from '../../workflows/contract.js';
import { shipmentWorkflow } from '../../workflows/shipment.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { fixPusher, type PushFixes } from '../support/ingest.js';
import { startLocalTemporal } from '../support/temporal.js';
import { startShipmentWorker, type RunningShipmentWorker } from '../support/worker.js';
import { chunk, eventually, insertShipment, insertTenant, threeStopTrip } from './harness.js';

const TASK_QUEUE = 'shipments-visibility-test';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let worker: RunningShipmentWorker;
let push: PushFixes;

beforeAll(async () => {
  [env, database] = await Promise.all([startLocalTemporal(), createTestDatabase()]);
  push = fixPusher(database.db, env.client);
  worker = await startShipmentWorker({ temporal: env, db: database.db, taskQueue: TASK_QUEUE });
});

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await database?.drop();
});

async function listIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of env.client.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}

describe('shipment workflow visibility', () => {
  it('keeps TenantId, ShipmentReference, ShipmentStatus and CarrierId current and describes itself', async () => {
    const tenantId = await insertTenant(database.db);
    const plan = await insertShipment(database.db, tenantId);
    const workflowId = shipmentWorkflowId(plan.tenantId, plan.shipmentId);
    const handle = await env.client.workflow.start(shipmentWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ plan, settings: { deliveryGraceMs: 60 * 60 * 1000, maxSignalsPerRun: 2_000 } }],
    });

    await eventually(() => listIds(`TenantId="${tenantId}" AND ShipmentStatus="PLANNED"`), (ids) => ids.includes(workflowId), 'PLANNED in visibility');

    for (const batch of chunk(threeStopTrip(), 30)) await push(plan, batch);
    await eventually(() => handle.query(shipmentStateQuery), (view) => view.status === 'DELIVERED', 'delivery');

    const delivered = await eventually(
      () => listIds(`TenantId="${tenantId}" AND ShipmentStatus="DELIVERED"`),
      (ids) => ids.includes(workflowId),
      'DELIVERED in visibility',
    );
    expect(delivered).toEqual([workflowId]);
    expect(await listIds(`TenantId="${tenantId}" AND ShipmentStatus="PLANNED"`)).toEqual([]);
    expect(await listIds(`ShipmentReference="${plan.reference}" AND CarrierId="${plan.carrierId}"`)).toEqual([workflowId]);

    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(searchAttributes.shipmentStatus)).toBe('DELIVERED');
    expect(description.typedSearchAttributes.get(searchAttributes.tenantId)).toBe(tenantId);

    // What the Temporal UI shows as the workflow's current details.
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain(`**DELIVERED** · ${plan.reference}`);
    expect(metadata.currentDetails).toContain('3. Saint-Priest store: departed');

    await handle.terminate('test finished');
  });
});
