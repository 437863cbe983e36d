// Tenant anomaly defaults: stored on the tenant (tenants.anomaly_defaults), handed to each new
// shipment's workflow, where the shipment's own thresholds override them field by field.
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShipmentWorkflowInput } from '../../workflows/contract.js';
import { shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function workflowInput(workflowId: string): Promise<ShipmentWorkflowInput> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return defaultPayloadConverter.fromPayload<ShipmentWorkflowInput>(payload);
}

describe('tenant anomaly defaults', () => {
  it('passes the tenant’s stored thresholds to the workflow beside the shipment’s own', async () => {
    await h.database.db.updateTable('tenants').set({ anomaly_defaults: { signalLossMin: 45, offRouteCorridorM: 2_500 } }).where('id', '=', h.acme.id).execute();
    const created = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ thresholds: { signalLossMin: 20 } }));
    expect(created.status).toBe(201);
    const input = await workflowInput(created.body.workflowId);
    expect(input.tenantAnomalyDefaults).toEqual({ signalLossMin: 45, offRouteCorridorM: 2_500 });
    expect(input.plan.thresholds).toEqual({ signalLossMin: 20 });

    // A tenant without stored defaults keeps the built-in ones: nothing extra in the input.
    const other = await h.call('POST', '/v1/shipments', h.globex.keys.dispatcher, shipmentBody());
    expect((await workflowInput(other.body.workflowId)).tenantAnomalyDefaults).toBeUndefined();
  });
});
