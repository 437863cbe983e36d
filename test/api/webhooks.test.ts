// Webhook endpoints end to end: the API, the real worker (shipment and delivery workflows), the
// feed, and a real receiver verifying every signature with the standardwebhooks library.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { searchAttributes } from '../../workflows/contract.js';
import { WEBHOOK_DELIVERY_WORKFLOW_TYPE, WEBHOOK_TASK_QUEUE, webhookWorkflowId } from '../../workflows/webhook-contract.js';
import { bundleShipmentWorkflows } from '../../worker/worker.js';
import { DEFAULT_WEBHOOK_HTTP_POLICY } from '../../infra/webhook-http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { runWorker, shipmentBody, startHarness, type Harness } from './harness.js';

// Short back-off and retry window so a dead endpoint is disabled within seconds.
const DELIVERY = { initialBackoffMs: 100, maxBackoffMs: 400, retryWindowMs: 8_000, idleWaitMs: 2_000, maxStepsPerRun: 500 };

let h: Harness;
let stopWorker: () => Promise<void>;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  h = await startHarness({ queryTimeoutMs: 5_000, webhooks: { http: { ...DEFAULT_WEBHOOK_HTTP_POLICY, allowedHosts: ['127.0.0.1'] }, delivery: DELIVERY } });
  stopWorker = await runWorker(h);
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await stopWorker?.();
  await h?.close();
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

async function register(r: WebhookReceiver, body: Record<string, unknown> = {}): Promise<{ id: string; secret: string; workflowId: string; cursor: string }> {
  const res = await h.call('POST', '/v1/webhook-endpoints', h.acme.keys.admin, { url: r.url, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  r.secrets = [res.body.secret];
  return res.body;
}

/** A shipment through manual milestones to delivery; returns its id once the feed has its delivery. */
async function trip(): Promise<string> {
  const created = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody());
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const at = (minutes: number) => new Date(Date.now() - 3 * 3_600_000 + minutes * 60_000).toISOString();
  for (const body of [
    { type: 'MANUAL_ARRIVAL', stopSequence: 1, at: at(0) },
    { type: 'MANUAL_DEPARTURE', stopSequence: 1, at: at(40) },
    { type: 'EXCEPTION', exceptionCode: 'DELAYED_AT_GATE', at: at(100) },
    { type: 'PROOF_OF_DELIVERY', eventId: `pod-${id}`, signedBy: 'J. Dupont', at: at(170) },
  ]) {
    const res = await h.call('POST', `/v1/shipments/${id}/events`, h.acme.keys.dispatcher, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  await expect.poll(async () => (await h.call('GET', `/v1/events?shipmentId=${id}&types=shipment.delivered`, h.acme.keys.viewer)).body.items.length, { timeout: 10_000 }).toBe(1);
  return id;
}

async function feedAfter(cursor: string): Promise<any[]> {
  const res = await h.call('GET', `/v1/events?after=${cursor}&limit=500`, h.acme.keys.viewer);
  expect(res.status).toBe(200);
  return res.body.items;
}

const byShipment = (events: any[]) => {
  const out = new Map<string, string[]>();
  for (const e of events) out.set(e.shipmentId, [...(out.get(e.shipmentId) ?? []), e.id]);
  return out;
};

describe('webhook endpoints', () => {
  it('shows the secret once, validates URLs (https, no private targets after resolution) and never lists secrets', async () => {
    const r = await receiver();
    const created = await register(r, { eventTypes: ['stop.arrived'], description: 'TMS' });
    expect(created.secret).toMatch(/^whsec_/);
    const got = await h.call('GET', `/v1/webhook-endpoints/${created.id}`, h.acme.keys.admin);
    expect(got.body).toMatchObject({ id: created.id, url: r.url, eventTypes: ['stop.arrived'], enabled: true, description: 'TMS' });
    const list = await h.call('GET', '/v1/webhook-endpoints', h.acme.keys.admin);
    expect(JSON.stringify(list.body)).not.toContain(created.secret);
    expect(JSON.stringify(got.body)).not.toContain(created.secret);

    const refused: [string, string][] = [
      ['http://hooks.example.com/x', 'https'],
      ['https://10.1.2.3/x', 'private'],
      ['https://169.254.169.254/latest/meta-data', 'private'],
      ['https://[::1]/x', 'private'],
      ['https://localhost/x', 'resolves to a private'],
      ['https://user:pw@hooks.example.com/x', 'credentials'],
      ['not a url', 'absolute URL'],
    ];
    for (const [url, message] of refused) {
      const res = await h.call('POST', '/v1/webhook-endpoints', h.acme.keys.admin, { url });
      expect(res.status, url).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'url', message: expect.stringContaining(message) })]);
    }
    const badType = await h.call('POST', '/v1/webhook-endpoints', h.acme.keys.admin, { url: r.url, eventTypes: ['stop.teleported'] });
    expect(badType.status).toBe(400);
    expect(badType.body.errors[0].field).toMatch(/^eventTypes/);
    expect((await h.call('DELETE', `/v1/webhook-endpoints/${created.id}`, h.acme.keys.admin)).status).toBe(204);
  });

  it('delivers a trip exactly as the feed has it, each request signed, the workflow findable by tenant', async () => {
    const r = await receiver();
    const endpoint = await register(r);
    const shipmentId = await trip();
    const expected = await feedAfter(endpoint.cursor);
    expect(expected.filter((e) => e.shipmentId === shipmentId).length).toBeGreaterThanOrEqual(8);
    await expect.poll(() => r.acknowledged().length, { timeout: 15_000 }).toBe(expected.length);
    expect(r.acknowledged()).toEqual(expected);
    expect(r.unverified).toBe(0);
    expect(r.received.every((req) => req.webhookId === req.body.id)).toBe(true);

    const description = await h.client.workflow.getHandle(endpoint.workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(searchAttributes.tenantId)).toBe(h.acme.id);
    const attempts = await h.call('GET', `/v1/webhook-endpoints/${endpoint.id}/attempts?limit=200`, h.acme.keys.admin);
    expect(attempts.body.items.length).toBe(expected.length);
    expect(attempts.body.items.every((a: any) => a.succeeded && a.status === 200 && a.latencyMs >= 0)).toBe(true);
    await h.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`, h.acme.keys.admin);
  });

  it('gets every event in order per shipment from a receiver that answers 500 for a while, duplicates only by webhook-id', async () => {
    const r = await receiver();
    r.respond = (_req, index) => (index < 3 || index % 4 === 0 ? 500 : 200);
    const endpoint = await register(r);
    const [a, b] = await Promise.all([trip(), trip()]);
    const expected = await feedAfter(endpoint.cursor);
    await expect.poll(() => r.acknowledged().length, { timeout: 30_000 }).toBe(expected.length);
    expect(r.unverified).toBe(0);
    // Every retry of an event carries its id; what was acknowledged is the feed, in feed order.
    expect(r.acknowledged()).toEqual(expected);
    const perShipment = byShipment(r.acknowledged());
    expect(perShipment.get(a)).toEqual(byShipment(expected).get(a));
    expect(perShipment.get(b)).toEqual(byShipment(expected).get(b));
    const ids = r.received.map((req) => req.webhookId);
    expect(new Set(ids).size).toBe(expected.length);
    expect(ids.length).toBeGreaterThan(expected.length);
    const failed = (await h.call('GET', `/v1/webhook-endpoints/${endpoint.id}/attempts?limit=200`, h.acme.keys.admin)).body.items.filter((x: any) => !x.succeeded);
    expect(failed[0]).toMatchObject({ status: 500, error: expect.stringContaining('HTTP 500') });
    await h.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`, h.acme.keys.admin);
  });

  it('disables an endpoint that keeps failing past its retry window, with the reason, and a 410 at once', async () => {
    const dead = await receiver();
    dead.respond = () => 503;
    const gone = await receiver();
    gone.respond = () => 410;
    const deadEndpoint = await register(dead);
    const goneEndpoint = await register(gone);
    await trip();
    await expect.poll(async () => (await h.call('GET', `/v1/webhook-endpoints/${goneEndpoint.id}`, h.acme.keys.admin)).body.enabled, { timeout: 15_000 }).toBe(false);
    expect(gone.received.length).toBe(1);
    expect((await h.call('GET', `/v1/webhook-endpoints/${goneEndpoint.id}`, h.acme.keys.admin)).body.disabledReason).toContain('410');
    await expect.poll(async () => (await h.call('GET', `/v1/webhook-endpoints/${deadEndpoint.id}`, h.acme.keys.admin)).body.enabled, { timeout: 20_000 }).toBe(false);
    const disabled = (await h.call('GET', `/v1/webhook-endpoints/${deadEndpoint.id}`, h.acme.keys.admin)).body;
    expect(disabled.disabledReason).toMatch(/failed \d+ times .*retry window 8 s.*HTTP 503/);
    expect(new Set(dead.received.map((req) => req.webhookId)).size).toBe(1);
    expect(dead.received.length).toBeGreaterThan(2);
    const result = await h.client.workflow.getHandle(deadEndpoint.workflowId).result();
    expect(result).toBeUndefined();

    // Re-enabled, it resumes from its cursor: the first event it never got comes first.
    dead.respond = () => 200;
    const enabled = await h.call('PATCH', `/v1/webhook-endpoints/${deadEndpoint.id}`, h.acme.keys.admin, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true });
    expect(enabled.body.disabledReason).toBeUndefined();
    const expected = await feedAfter(deadEndpoint.cursor);
    await expect.poll(() => dead.acknowledged().length, { timeout: 15_000 }).toBe(expected.length);
    expect(dead.acknowledged()).toEqual(expected);
    await h.call('DELETE', `/v1/webhook-endpoints/${deadEndpoint.id}`, h.acme.keys.admin);
    await h.call('DELETE', `/v1/webhook-endpoints/${goneEndpoint.id}`, h.acme.keys.admin);
  });

  it('never lets a slow endpoint delay another', async () => {
    const slow = await receiver();
    let release!: () => void;
    const held = new Promise<number>((resolve) => (release = () => resolve(200)));
    slow.respond = () => held;
    const fast = await receiver();
    const slowEndpoint = await register(slow);
    const fastEndpoint = await register(fast);
    await trip();
    const expected = await feedAfter(fastEndpoint.cursor);
    await expect.poll(() => fast.acknowledged().length, { timeout: 15_000 }).toBe(expected.length);
    // Meanwhile the slow one still holds (at most a timed-out retry of) its first event.
    expect(new Set(slow.received.map((req) => req.webhookId)).size).toBe(1);
    release();
    for (const id of [slowEndpoint.id, fastEndpoint.id]) await h.call('DELETE', `/v1/webhook-endpoints/${id}`, h.acme.keys.admin);
  });

  it('signs with both secrets for a day after a rotation, pings on demand, and replays from a point in time', async () => {
    const r = await receiver();
    const endpoint = await register(r);
    const oldSecret = endpoint.secret;
    const rotated = await h.call('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, h.acme.keys.admin);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(oldSecret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    r.secrets = [oldSecret, rotated.body.secret];

    const ping = await h.call('POST', `/v1/webhook-endpoints/${endpoint.id}/test`, h.acme.keys.admin);
    expect(ping.body).toMatchObject({ eventType: 'webhook.test', succeeded: true, status: 200 });
    expect(r.received[0]).toMatchObject({ webhookId: ping.body.webhookId, body: { type: 'webhook.test', endpointId: endpoint.id } });
    expect(r.received[0]!.verifiedWith).toEqual([oldSecret, rotated.body.secret]);

    const before = new Date().toISOString();
    await trip();
    const expected = await feedAfter(endpoint.cursor);
    // A wait, not a speed check: one delivery workflow sends them in order, slowly on a busy CI box.
    await expect.poll(() => r.acknowledged().length, { timeout: 60_000 }).toBe(expected.length + 1);
    expect(r.received.every((req) => req.verifiedWith.length === 2)).toBe(true);

    const replayed = await h.call('POST', `/v1/webhook-endpoints/${endpoint.id}/replay`, h.acme.keys.admin, { from: before });
    expect(replayed.status).toBe(202);
    const count = r.received.length;
    await expect.poll(() => r.received.length - count, { timeout: 60_000 }).toBe(expected.length);
    expect(r.received.slice(count).map((req) => req.body)).toEqual(expected);
    // The last attempt is recorded after its answer arrived: wait for the row, then page.
    const listAttempts = async (query: string) => (await h.call('GET', `/v1/webhook-endpoints/${endpoint.id}/attempts?${query}`, h.acme.keys.admin)).body;
    await expect.poll(async () => (await listAttempts('limit=200')).items.length, { timeout: 10_000 }).toBe(2 * expected.length + 1);
    const attempts = await listAttempts('limit=2');
    expect(attempts.items).toHaveLength(2);
    const older = await listAttempts(`limit=200&before=${attempts.nextBefore}`);
    expect(older.items.length).toBe(2 * expected.length + 1 - 2);
    await h.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`, h.acme.keys.admin);
  });

  it('continues as new after its step budget without losing or repeating an event, and replays deterministically', async () => {
    const r = await receiver();
    // Registered disabled (no workflow), then started here with a budget of 3 steps per run.
    const endpoint = await register(r, { enabled: false });
    await h.database.db.updateTable('webhook_endpoints').set({ enabled: true, disabled_reason: null, disabled_at: null }).where('id', '=', endpoint.id).execute();
    const handle = await h.client.workflow.start(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
      workflowId: webhookWorkflowId(h.acme.id, endpoint.id),
      taskQueue: WEBHOOK_TASK_QUEUE,
      args: [{ tenantId: h.acme.id, endpointId: endpoint.id, settings: { ...DELIVERY, idleWaitMs: 200, maxStepsPerRun: 3 } }],
      typedSearchAttributes: [{ key: searchAttributes.tenantId, value: h.acme.id }],
    });
    r.respond = (_req, index) => (index === 1 ? 500 : 200);
    await trip();
    const expected = await feedAfter(endpoint.cursor);
    await expect.poll(() => r.acknowledged().length, { timeout: 15_000 }).toBe(expected.length);
    expect(r.acknowledged()).toEqual(expected);
    // Idle steps of 200 ms use up the budget soon after; the next run goes on from the cursor.
    await expect.poll(async () => (await h.client.workflow.getHandle(handle.workflowId).describe()).runId, { timeout: 15_000 }).not.toBe(handle.firstExecutionRunId);
    expect((await h.client.workflow.getHandle(handle.workflowId).describe()).status.name).toBe('RUNNING');
    await trip();
    const more = await feedAfter(endpoint.cursor);
    await expect.poll(() => r.acknowledged().length, { timeout: 15_000 }).toBe(more.length);
    expect(r.acknowledged()).toEqual(more);
    const firstRun = await h.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    expect(firstRun.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(true);
    await Worker.runReplayHistory({ workflowBundle: await bundleShipmentWorkflows() }, firstRun, handle.firstExecutionRunId);
    await h.call('DELETE', `/v1/webhook-endpoints/${endpoint.id}`, h.acme.keys.admin);
  });
});
