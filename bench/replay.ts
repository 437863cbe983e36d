// Replay cost per run length: what a worker pays for every open shipment after a restart or a
// cache eviction, and so what bounds a run (maxHistoryEventsPerRun). Records real v2 histories on
// the time-skipping server (real worker, real activities, a fresh database), fixes pushed through
// the real ingest in batches, then replays each history with one replay worker and times it.
//
//   npx tsx bench/replay.ts [--batches 10,50,100,200,400] [--batch-size 1,50] [--repeat 5] [--out bench/results] [--save-dir DIR]
//
// Prints, per history: fixes, events, bytes, bytes per fix, replay milliseconds (mean of --repeat
// replays through one replay worker, as a restarted worker replays its open shipments).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import proto, { type temporal as protos } from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { Fix } from '../domain/types.js';
import { createLogger } from '../infra/logger.js';
import { bundleShipmentWorkflows, createShipmentWorker } from '../worker/worker.js';
import { DEFAULT_WORKFLOW_SETTINGS, shipmentWorkflowId } from '../workflows/contract.js';
import { shipmentWorkflow } from '../workflows/shipment.js';
import { createTestDatabase } from '../test/support/db.js';
import { fixPusher } from '../test/support/ingest.js';
import { startTimeSkippingTemporal } from '../test/support/temporal.js';
import { insertShipment, insertTenant, isWorkflowIdle } from '../test/workflow/harness.js';

// CommonJS module: its namespace comes through the default export under ESM.
const { temporal } = proto;

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '10,50,100,200,400' },
    'batch-size': { type: 'string', default: '1,50' },
    repeat: { type: 'string', default: '5' },
    out: { type: 'string' },
    'save-dir': { type: 'string' },
  },
});
const batchCounts = args.batches.split(',').map(Number);
const batchSizes = args['batch-size'].split(',').map(Number);
const repeat = Number(args.repeat);
const log = (line: string) => process.stderr.write(`[replay] ${line}\n`);

/** A truck driving north from Lyon, one fix every 30 s, moving (no milestones: the steady state of a long leg). */
function drive(count: number, start = Date.parse('2026-03-02T06:00:00Z')): Fix[] {
  return Array.from({ length: count }, (_, i) => ({ recordedAt: new Date(start + i * 30_000).toISOString(), lat: 45.9 + i * 0.002, lon: 4.85, speedKmh: 80, headingDeg: 0, accuracyM: 6 }));
}

const [env, database] = await Promise.all([startTimeSkippingTemporal(), createTestDatabase()]);
const logger = createLogger({ name: 'bench', level: 'silent' });
const tenantId = await insertTenant(database.db);
const push = fixPusher(database.db, env.client);
const worker = await createShipmentWorker({ connection: env.nativeConnection, namespace: env.namespace, taskQueue: 'bench-replay', activities: createActivities({ db: database.db, logger }) });
const running = worker.run();

interface Recorded {
  batchSize: number;
  batches: number;
  fixes: number;
  events: number;
  bytes: number;
  history: protos.api.history.v1.IHistory;
}

async function record(batchSize: number, batches: number): Promise<Recorded> {
  const plan = await insertShipment(database.db, tenantId);
  const handle = await env.client.workflow.start(shipmentWorkflow, {
    taskQueue: 'bench-replay',
    workflowId: shipmentWorkflowId(plan.tenantId, plan.shipmentId),
    // Unbounded for the measurement: the run grows as long as the bench makes it.
    args: [{ plan, settings: { ...DEFAULT_WORKFLOW_SETTINGS, maxHistoryEventsPerRun: 1e9, maxHistoryBytesPerRun: 1e12, maxSignalsPerRun: 9_000 } }],
  });
  const fixes = drive(batchSize * batches);
  for (let i = 0; i < batches; i++) {
    await push(plan, fixes.slice(i * batchSize, (i + 1) * batchSize));
    // Live pacing: each upload decided before the next, as a tracker's would be.
    while (!(await isWorkflowIdle(handle))) await delay(5);
  }
  const history = await handle.fetchHistory();
  await handle.terminate('benchmark');
  const bytes = temporal.api.history.v1.History.encode(history).finish().length;
  if (args['save-dir']) writeFileSync(join(args['save-dir'], `history-${batchSize}x${batches}.json`), historyToJSON(history));
  return { batchSize, batches, fixes: fixes.length, events: history.events?.length ?? 0, bytes, history };
}

const recorded: Recorded[] = [];
for (const size of batchSizes) {
  for (const count of batchCounts) {
    log(`recording ${count} uploads of ${size} fix(es)`);
    recorded.push(await record(size, count));
  }
}
worker.shutdown();
await running;

const bundle = await bundleShipmentWorkflows();
/** Milliseconds per replay of the history: `repeat` replays through one replay worker, so the worker's start is not counted. */
async function replayMs(r: Recorded): Promise<number> {
  const copies = Array.from({ length: repeat }, (_, i) => ({ workflowId: `bench-${r.batchSize}-${r.batches}-${i}`, history: r.history }));
  const started = performance.now();
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, copies)) {
    if (result.error) throw result.error;
  }
  return (performance.now() - started) / repeat;
}
const rows = [];
for (const r of recorded) {
  const ms = await replayMs(r);
  rows.push({ batchSize: r.batchSize, uploads: r.batches, fixes: r.fixes, events: r.events, historyBytes: r.bytes, bytesPerFix: Math.round(r.bytes / r.fixes), replayMs: Math.round(ms), replayMsPerEvent: Number((ms / r.events).toFixed(3)) });
}

console.log('fixes/upload  uploads  fixes  events  history KB  bytes/fix  replay ms  ms/event');
for (const row of rows) {
  console.log(
    `${String(row.batchSize).padStart(12)}  ${String(row.uploads).padStart(7)}  ${String(row.fixes).padStart(5)}  ${String(row.events).padStart(6)}  ${(row.historyBytes / 1024).toFixed(0).padStart(10)}  ${String(row.bytesPerFix).padStart(9)}  ${String(row.replayMs).padStart(9)}  ${row.replayMsPerEvent.toFixed(3).padStart(8)}`,
  );
}
if (args.out) {
  const file = join(args.out, `replay-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase()}.json`);
  writeFileSync(file, `${JSON.stringify({ recordedAt: new Date().toISOString(), settings: { maxHistoryEventsPerRun: DEFAULT_WORKFLOW_SETTINGS.maxHistoryEventsPerRun }, rows }, null, 2)}\n`);
  log(`wrote ${file}`);
}
await env.teardown();
await database.drop();
