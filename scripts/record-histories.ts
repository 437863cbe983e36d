// Records workflow histories of the shipment workflow as it is today, for the replay test
// (test/workflow/replay.test.ts): every later change of the workflow must replay them.
//
//   npx tsx scripts/record-histories.ts [--out test/workflow/histories] [--prefix v2] [--only trip,burst]
//
// Each scenario runs on the time-skipping server with the real worker and activities against a
// fresh database, fixes stored through the real ingest (one wake-up signal when none is
// outstanding); every run of the chain is saved as `<prefix>-<scenario>[-runN].json`. The
// scenarios make signals, timers, Updates, activity results and failures land in different
// workflow tasks, which is what a history must pin down. v1's histories were recorded by this
// script's v1 version (fixes inside signals) and stay as they are.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Command } from 'commander';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { Fix, ShipmentPlan } from '../domain/types.js';
import { createLogger } from '../infra/logger.js';
import {
  cancelShipmentUpdate,
  DEFAULT_WORKFLOW_SETTINGS,
  PROJECTION_WRITE_REJECTED,
  recordDeliveryEventUpdate,
  shipmentWorkflowId,
  updateAssignmentUpdate,
  type ShipmentWorkflowSettings,
} from '../workflows/contract.js';
import { shipmentWorkflow } from '../workflows/shipment.js';
import { createTestDatabase } from '../test/support/db.js';
import { fixPusher } from '../test/support/ingest.js';
import { startTimeSkippingTemporal } from '../test/support/temporal.js';
import { startShipmentWorker } from '../test/support/worker.js';
import { chunk, insertShipment, insertTenant, isWorkflowIdle, threeStopTrip } from '../test/workflow/harness.js';

const program = new Command()
  .option('--out <dir>', 'where the history files go', 'test/workflow/histories')
  .option('--prefix <name>', 'file name prefix: the workflow version that recorded them', 'v2')
  .option('--only <names>', 'comma-separated scenarios to record (default: all)')
  .parse();
const { out, prefix, only } = program.opts<{ out: string; prefix: string; only?: string }>();

const TASK_QUEUE = 'record-histories';
const SETTINGS: ShipmentWorkflowSettings = { ...DEFAULT_WORKFLOW_SETTINGS, deliveryGraceMs: 60 * 60_000 };

const [env, database] = await Promise.all([startTimeSkippingTemporal(), createTestDatabase()]);
const tenantId = await insertTenant(database.db);
let persistGate: Promise<void> | undefined;
/** While set, every projection write is refused as Postgres would refuse a row it cannot store. */
let refuseWrites = false;
/** While set, every ETA prediction fails. */
let failPredictions = false;
const push = fixPusher(database.db, env.client);
const worker = await startShipmentWorker({
  temporal: env,
  db: database.db,
  taskQueue: TASK_QUEUE,
  logger: createLogger({ name: 'record', level: 'silent' }),
  activities: (real) => ({
    ...real,
    async persistShipmentProgress(progress) {
      if (persistGate) await persistGate;
      if (refuseWrites) throw ApplicationFailure.nonRetryable('invalid byte sequence for encoding "UTF8": 0x00', PROJECTION_WRITE_REJECTED);
      return real.persistShipmentProgress(progress);
    },
    async predictShipmentEta(request) {
      if (failPredictions) throw new Error('routing service unavailable');
      return real.predictShipmentEta(request);
    },
  }),
});

type Handle = WorkflowHandleWithFirstExecutionRunId<typeof shipmentWorkflow>;

type Plan = Awaited<ReturnType<typeof insertShipment>>;

async function start(settings: ShipmentWorkflowSettings = SETTINGS): Promise<{ plan: ShipmentPlan; handle: Handle }> {
  const plan = await insertShipment(database.db, tenantId);
  const handle = await env.client.workflow.start(shipmentWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: shipmentWorkflowId(plan.tenantId, plan.shipmentId),
    args: [{ plan, settings }],
  });
  return { plan, handle };
}

async function idle(handle: Handle): Promise<void> {
  for (let i = 0; i < 600 && !(await isWorkflowIdle(env.client.workflow.getHandle(handle.workflowId))); i++) await delay(50);
}

/** Uploads as a tracker sends them: each decided before the next. */
async function pushPaced(plan: Plan, handle: Handle, fixes: Fix[], size: number): Promise<void> {
  for (const batch of chunk(fixes, size)) {
    await push(plan, batch);
    await idle(handle);
  }
}

/** Uploads back to back: they land while loads, writes and ETAs are in flight, in whatever task groupings the timing gives. */
async function pushBurst(plan: Plan, fixes: Fix[], size: number): Promise<void> {
  for (const batch of chunk(fixes, size)) await push(plan, batch);
}

/** Saves every run of the workflow's chain, first to last. */
async function save(name: string, handle: Handle): Promise<void> {
  const runs: string[] = [];
  let runId: string | undefined = handle.firstExecutionRunId;
  while (runId) {
    const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    runs.push(historyToJSON(history));
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  runs.forEach((json, i) => {
    const file = join(out, `${prefix}-${name}${runs.length > 1 ? `-run${i + 1}` : ''}.json`);
    writeFileSync(file, `${json}\n`);
    console.log(`wrote ${file}`);
  });
}

const scenarios: Record<string, () => Promise<Handle>> = {
  /** A three-stop trip in paced uploads, late fixes in the grace period, then completion. */
  async trip() {
    const { plan, handle } = await start();
    await pushPaced(plan, handle, threeStopTrip(), 25);
    await push(plan, threeStopTrip(new Date('2026-03-02T12:00:00.000Z')).slice(0, 10));
    await handle.result();
    return handle;
  },
  /** Uploads back to back while a write is held: wake-ups, loads and results grouped as they fall. */
  async burst() {
    const { plan, handle } = await start();
    const fixes = threeStopTrip();
    await pushPaced(plan, handle, fixes.slice(0, 10), 10);
    let release!: () => void;
    persistGate = new Promise((resolve) => (release = resolve));
    await pushBurst(plan, fixes.slice(10, 90), 8);
    await delay(300);
    release();
    persistGate = undefined;
    await pushBurst(plan, fixes.slice(90), 4);
    await handle.result();
    return handle;
  },
  /** A trip uploaded out of order: late fixes re-run the decisions from their checkpoint and correct them. */
  async shuffled() {
    const { plan, handle } = await start();
    const batches = chunk(threeStopTrip(), 12);
    const order = batches.map((_, i) => i).sort((a, b) => ((a * 7) % batches.length) - ((b * 7) % batches.length));
    for (const i of order) {
      await push(plan, batches[i]!);
      await idle(handle);
    }
    await handle.result();
    return handle;
  },
  /** Cancelled at the pickup by an Update. */
  async cancel() {
    const { plan, handle } = await start();
    await pushPaced(plan, handle, threeStopTrip().slice(0, 10), 5);
    await handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason: 'customer cancelled the order', actor: 'api-key:k1' }] });
    await handle.result();
    return handle;
  },
  /** Continue-as-new on the run's own history bound, with uploads arriving across the hand-overs. */
  async 'continue-as-new'() {
    const { plan, handle } = await start({ ...SETTINGS, maxHistoryEventsPerRun: 40 });
    const fixes = threeStopTrip();
    await pushPaced(plan, handle, fixes.slice(0, 60), 6);
    await pushBurst(plan, fixes.slice(60), 10);
    await handle.result();
    return handle;
  },
  /** The truck goes silent for hours mid-trip (signal lost, by timer), then finishes. */
  async 'signal-lost'() {
    const { plan, handle } = await start();
    const fixes = threeStopTrip();
    await pushPaced(plan, handle, fixes.slice(0, 40), 20);
    await env.sleep('2 hours');
    await idle(handle);
    await pushPaced(plan, handle, fixes.slice(40), 30);
    await handle.result();
    return handle;
  },
  /** Delivery events and a reassignment: exception, refused manual arrival, assignment, proof of delivery. */
  async 'delivery-events'() {
    const { plan, handle } = await start();
    const fixes = threeStopTrip();
    await pushPaced(plan, handle, fixes.slice(0, 30), 15);
    const carrierId = randomUUID();
    await database.db.insertInto('carriers').values({ id: carrierId, tenant_id: tenantId, name: 'Transalp', updated_at: new Date() }).execute();
    await handle.executeUpdate(updateAssignmentUpdate, { args: [{ carrierId, actor: 'api-key:k1' }] });
    await handle.executeUpdate(recordDeliveryEventUpdate, {
      args: [{ eventId: 'exc-1', type: 'EXCEPTION', at: fixes[29]!.recordedAt, exceptionCode: 'DAMAGED', note: 'pallet 3 wrapped loose' }],
    });
    await handle.executeUpdate(recordDeliveryEventUpdate, { args: [{ eventId: 'arr-3', type: 'MANUAL_ARRIVAL', at: fixes[60]!.recordedAt, stopSequence: 3 }] }).catch(() => undefined);
    await pushPaced(plan, handle, fixes.slice(30, 80), 25);
    await handle.executeUpdate(recordDeliveryEventUpdate, { args: [{ eventId: 'pod-1', type: 'PROOF_OF_DELIVERY', at: fixes[80]!.recordedAt, signedBy: 'J. Dupont' }] });
    await handle.result();
    return handle;
  },
  /** Every write refused and every ETA failing for a while: fixes and an Update go on; the projection catches up after. */
  async 'writes-refused'() {
    const { plan, handle } = await start();
    const fixes = threeStopTrip();
    await pushPaced(plan, handle, fixes.slice(0, 20), 10);
    refuseWrites = true;
    failPredictions = true;
    await pushPaced(plan, handle, fixes.slice(20, 50), 10);
    await handle.executeUpdate(recordDeliveryEventUpdate, { args: [{ eventId: 'exc-2', type: 'EXCEPTION', at: fixes[49]!.recordedAt, exceptionCode: 'DELAYED', note: 'traffic' }] });
    refuseWrites = false;
    failPredictions = false;
    await env.sleep('10 minutes');
    await pushPaced(plan, handle, fixes.slice(50), 25);
    await handle.result();
    return handle;
  },
};

const chosen = only ? only.split(',') : Object.keys(scenarios);
const unknown = chosen.filter((name) => !(name in scenarios));
if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);

mkdirSync(out, { recursive: true });
try {
  for (const name of chosen) await save(name, await scenarios[name]!());
} finally {
  await worker.stop();
  await env.teardown();
  await database.drop();
}
