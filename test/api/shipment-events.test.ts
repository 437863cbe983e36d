// Delivery events through the API and the real workflow: proof of delivery delivers, manual
// milestones move the shipment, a retried report is one timeline row, refusals are 409 problems.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker, shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  h = await startHarness({ queryTimeoutMs: 5_000 });
  stopWorker = await runWorker(h);
});

afterAll(async () => {
  await stopWorker?.();
  await h?.close();
});

async function createShipment(overrides: Record<string, unknown> = {}): Promise<{ id: string; workflowId: string }> {
  const res = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ deviceId: h.acme.fleet.deviceId, ...overrides }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function timeline(id: string): Promise<{ type: string; key?: string; stopSequence?: number; data: Record<string, unknown>; actor?: string }[]> {
  const res = await h.call('GET', `/v1/shipments/${id}/timeline`, h.acme.keys.viewer);
  expect(res.status).toBe(200);
  return res.body.items;
}

describe('POST /v1/shipments/:id/events', () => {
  it('moves the shipment through manual milestones and delivers it on proof of delivery, each once', async () => {
    const { id } = await createShipment();
    const base = Date.now() - 3 * 3_600_000;
    const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();

    const arrived = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.device, { type: 'MANUAL_ARRIVAL', stopSequence: 1, at: at(0) });
    expect(arrived.status, JSON.stringify(arrived.body)).toBe(200);
    expect(arrived.body).toMatchObject({ status: 'AT_STOP', milestones: [{ type: 'ARRIVED', stopSequence: 1, at: at(0) }] });

    const departed = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'MANUAL_DEPARTURE', stopSequence: 1, at: at(50) });
    expect(departed.body).toMatchObject({ status: 'IN_TRANSIT' });

    const pod = { type: 'PROOF_OF_DELIVERY', eventId: 'pod-1', signedBy: 'J. Dupont', documentUrl: 'https://docs.example/pod-1.pdf', at: at(170) };
    const delivered = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.device, pod);
    expect(delivered.status).toBe(200);
    expect(delivered.body.status).toBe('DELIVERED');
    // The same report again (a retry) is accepted and changes nothing.
    const retried = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.device, pod);
    expect(retried.status).toBe(200);

    const events = await timeline(id);
    const pods = events.filter((e) => e.type === 'PROOF_OF_DELIVERY');
    expect(pods).toHaveLength(1);
    expect(pods[0]).toMatchObject({ stopSequence: 2, data: { signedBy: 'J. Dupont', eventId: 'pod-1' } });
    expect(events.filter((e) => e.type === 'DELIVERED')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'MANUAL_ARRIVAL')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'ARRIVED').map((e) => e.stopSequence)).toEqual([1]);

    // During the grace period an exception can still be reported; a manual arrival no longer fits.
    const exception = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'EXCEPTION', exceptionCode: 'DAMAGED', note: 'two pallets crushed' });
    expect(exception.status).toBe(200);
    const late = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'MANUAL_ARRIVAL', stopSequence: 2 });
    expect(late.status).toBe(409);
    expect(late.headers.get('content-type')).toBe('application/problem+json');
    expect(late.body.detail).toMatch(/delivered/);
  });

  it('refuses what does not fit the shipment and names bad fields', async () => {
    const { id } = await createShipment();
    const departFirst = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'MANUAL_DEPARTURE', stopSequence: 1 });
    expect(departFirst.status).toBe(409);
    expect(departFirst.body.detail).toMatch(/has not arrived at stop 1/);

    const noStop = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'EXCEPTION', exceptionCode: 'REFUSED', stopSequence: 9 });
    expect(noStop.status).toBe(409);
    expect(noStop.body.detail).toMatch(/no stop 9/);

    const invalid = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'EXCEPTION', exceptionCode: 'bad code' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { field: string }) => e.field)).toContain('exceptionCode');

    const future = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'PROOF_OF_DELIVERY', at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(future.status).toBe(400);
    expect(future.body.errors).toEqual([{ field: 'at', message: expect.stringMatching(/future/) }]);

    expect((await h.call('POST', `/v1/shipments/${id}/cancel`, h.acme.keys.dispatcher, { reason: 'order withdrawn' })).status).toBe(200);
    const afterCancel = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, { type: 'PROOF_OF_DELIVERY' });
    expect(afterCancel.status).toBe(409);
    expect(afterCancel.body.detail).toMatch(/closed/);
    expect((await timeline(id)).filter((e) => e.type === 'PROOF_OF_DELIVERY')).toHaveLength(0);
  });

  it("refuses a device key for a shipment its device is not assigned to", async () => {
    const { id } = await createShipment({ deviceId: undefined });
    const res = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.device, { type: 'EXCEPTION', exceptionCode: 'DAMAGED' });
    expect(res.status).toBe(403);
  });
});
