// Recovery as a measured property: open shipments whose runs are near their history bound, a
// steady load at half of what the system decides per second, then the worker killed (SIGKILL, no
// drain) and started again. Reports how long until every shipment's lag (the oldest stored fix it
// has not read yet) is back under 2 s, the worst lag on the way, and whether Temporal saw any
// workflow task time out (TemporalReportedProblems, and the worker's own TMPRL1104 warnings), the
// CPU each process used in the steady load and during the catch-up, and the machine's load average
// (figures from a busy machine say little).
//
//   npx tsx bench/recovery.ts [--shipments 1000] [--fixes-per-upload 10] [--steady-seconds 20] [--bound 100] [--steady-rate N] [--workers 1] [--out bench/results]
//
// With --workers N, N worker processes share the task queue (as WORKER_PROCESSES=N does) and all
// of them are killed at once: a host that crashes, the worst case for the replays that follow.
//
// Real parts: the Temporal dev server, Postgres, the worker as its own process (worker/main.ts with
// the WORKER_* settings of the environment); fixes are stored through the API's ingest path
// (api/fix-ingest.ts) in this process, so the API's HTTP layer is not what is measured.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import { createFixIngest, startWakeupSweeper, temporalWakeup, type FixIngest } from '../api/fix-ingest.js';
import { startCpuMeter } from './cpu-meter.js';
import type { Fix, ShipmentPlan } from '../domain/types.js';
import { createLogger } from '../infra/logger.js';
import { PROJECT_ROOT } from '../infra/tools.js';
import { DEFAULT_WORKFLOW_SETTINGS, SHIPMENT_TASK_QUEUE, shipmentWorkflowId } from '../workflows/contract.js';
import { shipmentWorkflow } from '../workflows/shipment.js';
import { createTestDatabase } from '../test/support/db.js';
import { fixPusher } from '../test/support/ingest.js';
import { startLocalTemporal } from '../test/support/temporal.js';
import { insertShipment, insertTenant } from '../test/workflow/harness.js';

const { values: args } = parseArgs({
  options: {
    shipments: { type: 'string', default: '1000' },
    'fixes-per-upload': { type: 'string', default: '10' },
    'steady-seconds': { type: 'string', default: '20' },
    'recovery-timeout-seconds': { type: 'string', default: '300' },
    'fill-ratio': { type: 'string', default: '0.8' },
    // A fixed steady load (uploads/s) instead of half the probed capacity: compares worker settings at the same load.
    'steady-rate': { type: 'string' },
    bound: { type: 'string', default: String(DEFAULT_WORKFLOW_SETTINGS.maxHistoryEventsPerRun) },
    workers: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const SHIPMENTS = Number(args.shipments);
const FIXES_PER_UPLOAD = Number(args['fixes-per-upload']);
const STEADY_MS = Number(args['steady-seconds']) * 1000;
const RECOVERY_TIMEOUT_MS = Number(args['recovery-timeout-seconds']) * 1000;
const FILL_RATIO = Number(args['fill-ratio']);
const bound = Number(args.bound);
const WORKERS = Number(args.workers);
const settings = { ...DEFAULT_WORKFLOW_SETTINGS, maxHistoryEventsPerRun: bound };
const LAG_TARGET_S = 2;
const FIX_INTERVAL_MS = 30_000;
const log = (line: string) => process.stderr.write(`[recovery] ${new Date().toISOString().slice(11, 19)} ${line}\n`);

const [temporal, database] = await Promise.all([startLocalTemporal(), createTestDatabase()]);
const tenantId = await insertTenant(database.db);
// The API's ingest with its sweeper, as deployed: a wake-up whose signal failed (past its 2 s
// deadline) is re-sent, and counted, instead of leaving its shipment behind for good.
const ingestLogger = createLogger({ name: 'recovery-ingest', level: 'warn' });
const apiIngest = createFixIngest({ db: database.db, wake: temporalWakeup(temporal.client), logger: ingestLogger });
const wakeupsResent = { sweeps: 0, delivered: 0, failed: 0 };
const ingest: FixIngest = {
  ...apiIngest,
  async sweep() {
    const swept = await apiIngest.sweep();
    if (swept.outstanding > 0) wakeupsResent.sweeps += 1;
    wakeupsResent.delivered += swept.delivered;
    wakeupsResent.failed += swept.failed;
    return swept;
  },
};
const sweeper = startWakeupSweeper(ingest, { intervalMs: 1_000, logger: ingestLogger });
const push = fixPusher(database.db, temporal.client, ingest);

/** What the worker processes said that matters here: when each was ready, and task timeouts since the kill. */
const workerSaid = { readyAtMs: [] as number[], taskTimeouts: 0, taskNotFound: 0 };
function startWorker(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.address, LOG_LEVEL: 'info', REPAIR_INTERVAL_SECONDS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (line.includes('"worker running"')) workerSaid.readyAtMs.push(performance.now());
      if (line.includes('TMPRL1104')) workerSaid.taskTimeouts += 1;
      if (line.includes('Workflow task not found')) workerSaid.taskNotFound += 1;
    });
  }
  return child;
}

/** Sends `signal` to a worker process and waits until it has exited. */
function stopWorker(worker: ChildProcess, signal: NodeJS.Signals): Promise<unknown> {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill(signal);
  return exited;
}

/** Runs `task` over `items` with at most `width` at once. */
async function pool<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

interface LagSample {
  /** Shipments with stored fixes not read yet. */
  behind: number;
  /** Age of the oldest fix not read yet, over every shipment. */
  lagS: number;
  /** The same per shipment (0 when caught up), 99th percentile over the shipments. */
  p99LagS: number;
}

async function lag(): Promise<LagSample> {
  const { rows } = await sql<{ behind: string; lag_s: string | null; p99_lag_s: string | null }>`
    select count(*) filter (where i.stored_seq > i.loaded_seq) as behind,
           extract(epoch from max(now() - o.oldest)) as lag_s,
           percentile_cont(0.99) within group (order by coalesce(extract(epoch from now() - o.oldest), 0)) as p99_lag_s
    from shipment_ingest i
    left join lateral (select min(p.received_at) as oldest from positions p where p.shipment_id = i.shipment_id and p.seq > i.loaded_seq) o on true
    where i.tenant_id = ${tenantId}`.execute(database.db);
  return { behind: Number(rows[0]!.behind), lagS: Number(rows[0]!.lag_s ?? 0), p99LagS: Number(rows[0]!.p99_lag_s ?? 0) };
}

interface CatchUpOptions {
  onSample?: (sample: LagSample & { atMs: number }) => void;
  /** How long the lag must stay under the target to count (default: three samples). */
  holdMs?: number;
  /** The lag counts only once this says so (after a kill: once the new worker runs). */
  judging?: () => boolean;
}

/** Milliseconds from now until the lag went under the target and stayed there, or undefined at the timeout. */
async function untilCaughtUp(timeoutMs: number, { onSample, holdMs = 1_500, judging = () => true }: CatchUpOptions = {}): Promise<number | undefined> {
  const started = performance.now();
  let underSince: number | undefined;
  while (performance.now() - started < timeoutMs) {
    const sample = await lag();
    const atMs = performance.now() - started;
    onSample?.({ ...sample, atMs });
    if (sample.lagS < LAG_TARGET_S && judging()) {
      underSince ??= atMs;
      if (atMs - underSince >= holdMs) return underSince;
    } else underSince = undefined;
    await delay(500);
  }
  return undefined;
}

interface Truck {
  plan: ShipmentPlan;
  nextFixMs: number;
}

function nextUpload(truck: Truck): Fix[] {
  return Array.from({ length: FIXES_PER_UPLOAD }, () => {
    const at = truck.nextFixMs;
    truck.nextFixMs += FIX_INTERVAL_MS;
    const i = (at - Date.parse('2026-03-02T00:00:00Z')) / FIX_INTERVAL_MS;
    // Driving north from Lyon at 80 km/h, away from the stops: the steady state of a long leg.
    return { recordedAt: new Date(at).toISOString(), lat: 46.0 + i * 0.0001, lon: 4.85, speedKmh: 80, headingDeg: 0, accuracyM: 6 };
  });
}

async function historyLengths(trucks: Truck[]): Promise<number[]> {
  const sample = trucks.filter((_, i) => i % Math.max(1, Math.floor(trucks.length / 25)) === 0);
  const lengths = await Promise.all(sample.map(async (t) => (await temporal.client.workflow.getHandle(shipmentWorkflowId(t.plan.tenantId, t.plan.shipmentId)).describe()).historyLength));
  return lengths.sort((a, b) => a - b);
}

let workers = Array.from({ length: WORKERS }, startWorker);
log(`opening ${SHIPMENTS} shipments`);
const trucks: Truck[] = [];
await pool(Array.from({ length: SHIPMENTS }, (_, i) => i), 16, async (i) => {
  const plan = await insertShipment(database.db, tenantId);
  await temporal.client.workflow.start(shipmentWorkflow, { taskQueue: SHIPMENT_TASK_QUEUE, workflowId: shipmentWorkflowId(plan.tenantId, plan.shipmentId), args: [{ plan, settings }] });
  trucks.push({ plan, nextFixMs: Date.parse('2026-03-02T06:00:00Z') + i * 1_000 });
});

/** Uploads at `rate` per second, round-robin over the shipments, until stopped. */
function steadyLoad(rate: number): { stop(): Promise<number> } {
  let sent = 0;
  let loading = true;
  const started = performance.now();
  const running = (async () => {
    while (loading) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate) - sent;
      const batch = Array.from({ length: Math.max(0, due) }, () => trucks[loadCursor++ % trucks.length]!);
      sent += batch.length;
      await pool(batch, 16, (truck) => push(truck.plan, nextUpload(truck)).then(() => undefined));
      await delay(50);
    }
  })();
  return {
    async stop() {
      loading = false;
      await running;
      return sent;
    },
  };
}
let loadCursor = 0;

/** One upload per shipment per round, as fast as the system takes them, until the median run is `ratio` of the bound. */
async function fill(ratio: number, maxRounds = Number.POSITIVE_INFINITY): Promise<{ uploads: number; seconds: number }> {
  let uploads = 0;
  const started = performance.now();
  for (let round = 1; round <= maxRounds; round++) {
    await pool(trucks, 16, async (truck) => {
      await push(truck.plan, nextUpload(truck));
      uploads += 1;
    });
    if (round % 5 === 0 || round === maxRounds) {
      await untilCaughtUp(600_000);
      const lengths = await historyLengths(trucks);
      const median = lengths[Math.floor(lengths.length / 2)]!;
      log(`fill round ${round}: ${uploads} uploads, history length median ${median} of ${bound}`);
      if (median >= ratio * bound) break;
    }
  }
  await untilCaughtUp(600_000);
  return { uploads, seconds: (performance.now() - started) / 1000 };
}

// Capacity. Flat out, a shipment that is behind reads several uploads in one wake-up, so uploads/s
// there overstate what the system decides when every upload is a wake-up of its own, as in a steady
// load. So the flat-out rate of a few rounds only starts a probe: steady rates from half of it down,
// 20 s each, until one holds every shipment's lag under 1 s; that rate is the capacity.
const warmup = await fill(1, 5);
const flatOut = warmup.uploads / warmup.seconds;
log(`flat out ≈ ${flatOut.toFixed(0)} uploads/s; probing steady rates`);
const probes: Array<{ uploadsPerSecond: number; worstLagS: number }> = [];
let capacity = 0;
for (let rate = flatOut / 2; capacity === 0 && rate >= flatOut / 20; rate *= 0.8) {
  const probe = steadyLoad(rate);
  await delay(8_000);
  let worst = 0;
  const until = performance.now() + 12_000;
  while (performance.now() < until) {
    worst = Math.max(worst, (await lag()).lagS);
    await delay(500);
  }
  await probe.stop();
  await untilCaughtUp(600_000);
  probes.push({ uploadsPerSecond: Math.round(rate), worstLagS: Number(worst.toFixed(2)) });
  log(`probe at ${rate.toFixed(0)} uploads/s: worst lag ${worst.toFixed(2)} s`);
  if (worst < 1) capacity = rate;
}
if (capacity === 0) throw new Error(`no steady rate down to ${(flatOut / 20).toFixed(0)} uploads/s held the lag under 1 s`);
log(`capacity ≈ ${capacity.toFixed(0)} uploads/s (${(capacity * FIXES_PER_UPLOAD).toFixed(0)} fixes/s); filling runs to ${FILL_RATIO * 100} % of the bound`);
await fill(FILL_RATIO);

// Steady load at half of capacity (or the rate asked for) until the end.
const steadyRate = args['steady-rate'] === undefined ? capacity / 2 : Number(args['steady-rate']);
const load = steadyLoad(steadyRate);

const before: number[] = [];
const databaseName = new URL(database.url).pathname.slice(1);
const steadyMeter = startCpuMeter(process.pid, databaseName, 'bench');
await untilCaughtUp(STEADY_MS, { onSample: (s) => before.push(s.lagS) }).then(() => delay(STEADY_MS));
const steadyCpuPercent = steadyMeter.stop();
const lengthsAtKill = await historyLengths(trucks);
const baseline = await lag();
log(`steady at ${steadyRate.toFixed(0)} uploads/s; lag ${baseline.lagS.toFixed(2)} s; killing the worker${WORKERS > 1 ? 's' : ''} (history lengths ${lengthsAtKill[0]}–${lengthsAtKill.at(-1)})`);
workerSaid.taskTimeouts = 0;
workerSaid.taskNotFound = 0;
const killedAtMs = performance.now();
const recoveryMeter = startCpuMeter(process.pid, databaseName, 'bench');
await Promise.all(workers.map((worker) => stopWorker(worker, 'SIGKILL')));
workers = Array.from({ length: WORKERS }, startWorker);
/** Every new worker process is running. */
const restarted = () => workerSaid.readyAtMs.length >= 2 * WORKERS;
let worstLagS = 0;
let worstBehind = 0;
let p99UnderAtMs: number | undefined;
// One sample in ten (every ~5 s): how the catch-up went, not only when it ended.
const timeline: Array<{ atS: number; behind: number; lagS: number; p99LagS: number }> = [];
// Right after the kill every lag is young, so it counts only once the new worker runs, and must
// then stay under the target for 10 s: by then any shipment the new worker had not reached would be over it.
const recoveredAtMs = await untilCaughtUp(RECOVERY_TIMEOUT_MS, { holdMs: 10_000, judging: restarted, onSample: (s) => {
  worstLagS = Math.max(worstLagS, s.lagS);
  worstBehind = Math.max(worstBehind, s.behind);
  if (s.p99LagS < LAG_TARGET_S && restarted()) p99UnderAtMs ??= s.atMs;
  else p99UnderAtMs = undefined;
  if (timeline.length === 0 || s.atMs / 1000 - timeline.at(-1)!.atS >= 5) {
    timeline.push({ atS: Number((s.atMs / 1000).toFixed(1)), behind: s.behind, lagS: Number(s.lagS.toFixed(1)), p99LagS: Number(s.p99LagS.toFixed(1)) });
  }
} });
const recoveryCpuPercent = recoveryMeter.stop();
await load.stop();

let reportedProblems: number | string;
try {
  reportedProblems = await temporal.client.workflow.count('TemporalReportedProblems IS NOT NULL').then((c) => c.count);
} catch (error) {
  reportedProblems = `not queryable here: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
}
const newWorkerReadyS = restarted() ? (workerSaid.readyAtMs.at(-1)! - killedAtMs) / 1000 : undefined;

const result = {
  recordedAt: new Date().toISOString(),
  shipments: SHIPMENTS,
  fixesPerUpload: FIXES_PER_UPLOAD,
  historyBoundEvents: bound,
  historyLengthsAtKill: { min: lengthsAtKill[0], median: lengthsAtKill[Math.floor(lengthsAtKill.length / 2)], max: lengthsAtKill.at(-1) },
  flatOutUploadsPerSecond: Math.round(flatOut),
  capacityProbes: probes,
  capacityUploadsPerSecond: Math.round(capacity),
  steadyUploadsPerSecond: Math.round(steadyRate),
  lagBeforeKill: { lagS: Number(baseline.lagS.toFixed(2)), p99LagS: Number(baseline.p99LagS.toFixed(2)) },
  recoverySeconds: recoveredAtMs === undefined ? null : Number((recoveredAtMs / 1000).toFixed(1)),
  p99RecoverySeconds: p99UnderAtMs === undefined ? null : Number((p99UnderAtMs / 1000).toFixed(1)),
  newWorkerReadySeconds: newWorkerReadyS === undefined ? null : Number(newWorkerReadyS.toFixed(1)),
  worstLagSeconds: Number(worstLagS.toFixed(1)),
  worstShipmentsBehind: worstBehind,
  temporalReportedProblems: reportedProblems,
  workerTaskTimeoutWarnings: workerSaid.taskTimeouts,
  workerTaskNotFound: workerSaid.taskNotFound,
  wakeupsResent,
  cpuPercent: { steady: steadyCpuPercent, recovery: recoveryCpuPercent, notes: '% of one core per process from the kill until caught up (2 cores = 200 %); bench = this process: the ingest, the sweeper, the lag queries' },
  loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
  timeline,
  worker: { processes: WORKERS, ...Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('WORKER_'))) },
};
console.log(JSON.stringify(result, null, 2));
if (args.out) {
  const file = join(args.out, `recovery-${result.recordedAt.replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase()}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${file}`);
}
await Promise.all(workers.map((worker) => stopWorker(worker, 'SIGTERM')));
await sweeper.stop();
await temporal.teardown();
await database.drop();
