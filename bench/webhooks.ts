// Webhook delivery: commit → receiver latency and throughput with N endpoints (default 10) on one
// tenant, while a simulated fleet of shipments reports milestones, exceptions and proof of
// delivery through the API. The whole platform runs in-process (fresh database on the machine's
// Postgres, the Temporal dev server, the real worker with production delivery settings: feed read
// every 500 ms while idle), each endpoint a real listener verifying every signature with
// standardwebhooks. Latency = arrival at the receiver − the feed row's commit time (same clock).
// `--concurrency` shipments report at once: 8 keeps the endpoints saturated (throughput), 1 shows
// the latency of an endpoint that keeps up. Prints the figures; saves JSON under bench/results only
// with --out.
//
//   npx tsx bench/webhooks.ts [--endpoints 10] [--shipments 40] [--concurrency 8] [--out bench/results]
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_WEBHOOK_ACTIVITY_SETTINGS } from '../activities/webhooks.js';
import { DEFAULT_WEBHOOK_HTTP_POLICY } from '../infra/webhook-http.js';
import { createLogger } from '../infra/logger.js';
import { callJson } from '../test/support/http.js';
import { startInProcessStack } from '../test/support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/support/webhook-receiver.js';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '10' },
    shipments: { type: 'string', default: '40' },
    concurrency: { type: 'string', default: '8' },
    out: { type: 'string' },
  },
});
const ENDPOINTS = Number(values.endpoints);
const SHIPMENTS = Number(values.shipments);
const CONCURRENCY = Number(values.concurrency);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const http = { ...DEFAULT_WEBHOOK_HTTP_POLICY, allowedHosts: ['127.0.0.1'] };

const stack = await startInProcessStack({
  logger: createLogger({ name: 'bench-webhooks', level: 'silent' }),
  tenantName: 'Bench Webhooks',
  role: 'admin',
  config: { apiKeys: { rateLimitPerSecond: 0 }, webhooks: { http } },
  webhooks: { ...DEFAULT_WEBHOOK_ACTIVITY_SETTINGS, http },
});
const call = (method: string, path: string, body?: unknown) => callJson(stack.baseUrl, method, path, stack.apiKey, body);
const arrivals = new Map<string, number[]>();
const receivers: WebhookReceiver[] = [];
try {
  for (let i = 0; i < ENDPOINTS; i++) {
    const receiver = await startWebhookReceiver(`/hooks/${i}`);
    receiver.respond = (request) => {
      arrivals.set(request.webhookId, [...(arrivals.get(request.webhookId) ?? []), Date.now()]);
      return 200;
    };
    const res = await call('POST', '/v1/webhook-endpoints', { url: receiver.url });
    if (res.status !== 201) throw new Error(`endpoint: ${res.status} ${JSON.stringify(res.body)}`);
    receiver.secrets = [res.body.secret];
    receivers.push(receiver);
  }
  const startCursor = (await call('GET', '/v1/events?limit=1')).body.nextCursor as string;

  // The fleet: each shipment created, arrives and leaves its pickup, reports an exception, is delivered.
  const started = Date.now();
  const at = (minutes: number) => new Date(started - 3 * 3_600_000 + minutes * 60_000).toISOString();
  const drive = async (n: number) => {
    const created = await call('POST', '/v1/shipments', {
      reference: `BENCH-${started}-${n}`,
      stops: [
        { type: 'pickup', name: 'Lyon DC', location: { lat: 45.7485, lon: 4.8467 }, geofenceRadiusM: 500 },
        { type: 'delivery', name: 'Paris XV', location: { lat: 48.8414, lon: 2.2873 }, geofenceRadiusM: 500 },
      ],
    });
    const id = created.body.id as string;
    for (const body of [
      { type: 'MANUAL_ARRIVAL', stopSequence: 1, at: at(0) },
      { type: 'MANUAL_DEPARTURE', stopSequence: 1, at: at(40) },
      { type: 'EXCEPTION', exceptionCode: 'DELAYED_AT_GATE', at: at(90) },
      { type: 'PROOF_OF_DELIVERY', eventId: `pod-${id}`, at: at(170) },
    ]) {
      const res = await call('POST', `/v1/shipments/${id}/events`, body);
      if (res.status !== 200) throw new Error(`event: ${res.status} ${JSON.stringify(res.body)}`);
    }
  };
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < SHIPMENTS) await drive(next++);
  }));
  const fleetDoneMs = Date.now() - started;

  // Wait until the feed stops growing, then until every receiver has every event.
  let events: { id: string; cursor: string }[] = [];
  for (let stable = 0; stable < 3; ) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const items: { id: string; cursor: string }[] = [];
    for (let after = startCursor; ; ) {
      const page = (await call('GET', `/v1/events?after=${after}&limit=500`)).body;
      items.push(...page.items);
      if (page.items.length < 500) break;
      after = page.nextCursor;
    }
    stable = items.length === events.length ? stable + 1 : 0;
    events = items;
  }
  const expected = events.length * ENDPOINTS;
  const deadline = Date.now() + 300_000;
  while (receivers.reduce((n, r) => n + r.acknowledged().length, 0) < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));

  const committed = new Map(
    (await stack.database.db.selectFrom('tenant_event_feed').select(['id', 'committed_at']).where('tenant_id', '=', stack.tenantId).execute()).map((r) => [r.id, r.committed_at.getTime()]),
  );
  const latencies = events.flatMap((e) => (arrivals.get(e.id) ?? []).slice(0, ENDPOINTS).map((t) => t - committed.get(e.id)!)).sort((a, b) => a - b);
  const received = receivers.reduce((n, r) => n + r.acknowledged().length, 0);
  // From the first event's commit to the last arrival: the window the deliveries took.
  const firstCommit = Math.min(...events.map((e) => committed.get(e.id)!));
  const lastArrival = Math.max(...[...arrivals.values()].flat());
  const deliveredAll = lastArrival - firstCommit;
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: availableParallelism(), loadavg: loadavg().map((l) => Math.round(l * 10) / 10) },
    endpoints: ENDPOINTS,
    shipments: SHIPMENTS,
    events: events.length,
    deliveriesExpected: expected,
    deliveriesReceived: received,
    duplicates: receivers.reduce((n, r) => n + r.received.length - r.acknowledged().length, 0),
    unverified: receivers.reduce((n, r) => n + r.unverified, 0),
    concurrency: CONCURRENCY,
    fleetSeconds: fleetDoneMs / 1000,
    eventsCommittedPerSecond: Math.round((events.length / (fleetDoneMs / 1000)) * 10) / 10,
    firstCommitToLastArrivalSeconds: deliveredAll / 1000,
    eventsPerSecondPerEndpoint: Math.round((events.length / (deliveredAll / 1000)) * 10) / 10,
    deliveriesPerSecond: Math.round((received / (deliveredAll / 1000)) * 10) / 10,
    commitToReceiverMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies.at(-1) },
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    const file = join(values.out, `webhooks-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`saved ${file}`);
  }
} finally {
  for (const r of receivers) await r.close();
  await stack.close();
}
