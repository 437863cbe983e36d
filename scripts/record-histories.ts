// Records workflow histories of the shipment workflow as it is today, for the replay test
// (test/workflow/replay.test.ts): every later change of the workflow must replay them.
//
//   npx tsx scripts/record-histories.ts [--out test/workflow/histories] [--prefix v1]
//
// Each scenario runs on the time-skipping server with the real worker and activities against a
// fresh database; every run of the chain is saved as `<prefix>-<scenario>[-runN].json`.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Command } from 'commander';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { Fix, ShipmentPlan } from '../domain/types.js';
import { createLogger } from '../infra/logger.js';
import {
  cancelShipmentUpdate,
  DEFAULT_WORKFLOW_SETTINGS,
  fixesReceivedSignal,
  recordDeliveryEventUpdate,
  shipmentWorkflowId,
  updateAssignmentUpdate,
  type ShipmentWorkflowSettings,
} from '../workflows/contract.js';
import { shipmentWorkflow } from '../workflows/shipment.js';
import { createTestDatabase } from '../test/support/db.js';
import { startTimeSkippingTemporal } from '../test/support/temporal.js';
import { startShipmentWorker } from '../test/support/worker.js';
import { chunk, insertShipment, insertTenant, isWorkflowIdle, threeStopTrip } from '../test/workflow/harness.js';

const program = new Command()
  .option('--out <dir>', 'where the history files go', 'test/workflow/histories')
  .option('--prefix <name>', 'file name prefix: the workflow version that recorded them', 'v1')
  .parse();
const { out, prefix } = program.opts<{ out: string; prefix: string }>();

const TASK_QUEUE = 'record-histories';
const SETTINGS: ShipmentWorkflowSettings = { ...DEFAULT_WORKFLOW_SETTINGS, deliveryGraceMs: 60 * 60_000 };

const [env, database] = await Promise.all([startTimeSkippingTemporal(), createTestDatabase()]);
const tenantId = await insertTenant(database.db);
let persistGate: Promise<void> | undefined;
const worker = await startShipmentWorker({
  temporal: env,
  db: database.db,
  taskQueue: TASK_QUEUE,
  logger: createLogger({ name: 'record', level: 'silent' }),
  activities: (real) => ({
    ...real,
    async persistShipmentProgress(progress) {
      if (persistGate) await persistGate;
      return real.persistShipmentProgress(progress);
    },
  }),
});

type Handle = WorkflowHandleWithFirstExecutionRunId<typeof shipmentWorkflow>;

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

async function signalPaced(handle: Handle, fixes: Fix[], size: number): Promise<void> {
  for (const batch of chunk(fixes, size)) {
    await handle.signal(fixesReceivedSignal, { fixes: batch });
    await idle(handle);
  }
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
  /** A three-stop trip in paced batches, late fixes in the grace period, then completion. */
  async trip() {
    const { handle } = await start();
    await signalPaced(handle, threeStopTrip(), 25);
    await handle.signal(fixesReceivedSignal, { fixes: threeStopTrip(new Date('2026-03-02T12:00:00.000Z')).slice(0, 10) });
    await handle.result();
    return handle;
  },
  /** Signals that queue up while a write is in flight, processed together. */
  async 'queued-signals'() {
    const { handle } = await start();
    const fixes = threeStopTrip();
    await signalPaced(handle, fixes.slice(0, 10), 10);
    let release!: () => void;
    persistGate = new Promise((resolve) => (release = resolve));
    for (const batch of chunk(fixes.slice(10, 60), 10)) await handle.signal(fixesReceivedSignal, { fixes: batch });
    await delay(500);
    release();
    persistGate = undefined;
    await idle(handle);
    await signalPaced(handle, fixes.slice(60), 20);
    await handle.result();
    return handle;
  },
  /** Cancelled at the pickup by an Update. */
  async cancel() {
    const { handle } = await start();
    await signalPaced(handle, threeStopTrip().slice(0, 10), 5);
    await handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason: 'customer cancelled the order', actor: 'api-key:k1' }] });
    await handle.result();
    return handle;
  },
  /** Continue-as-new on the workflow's own signal count, with a burst handed over between runs. */
  async 'continue-as-new'() {
    const { handle } = await start({ ...SETTINGS, maxSignalsPerRun: 4 });
    const batches = chunk(threeStopTrip(), 8);
    for (const batch of batches.slice(0, 6)) {
      await handle.signal(fixesReceivedSignal, { fixes: batch });
      await idle(handle);
    }
    for (const batch of batches.slice(6)) await handle.signal(fixesReceivedSignal, { fixes: batch });
    await handle.result();
    return handle;
  },
  /** The truck goes silent for hours mid-trip (signal lost, by timer), then finishes. */
  async 'signal-lost'() {
    const { handle } = await start();
    const fixes = threeStopTrip();
    await signalPaced(handle, fixes.slice(0, 40), 20);
    await env.sleep('2 hours');
    await idle(handle);
    await signalPaced(handle, fixes.slice(40), 30);
    await handle.result();
    return handle;
  },
  /** Delivery events and a reassignment: manual arrival, exception, assignment, proof of delivery. */
  async 'delivery-events'() {
    const { handle } = await start();
    const fixes = threeStopTrip();
    await signalPaced(handle, fixes.slice(0, 30), 15);
    const carrierId = randomUUID();
    await database.db.insertInto('carriers').values({ id: carrierId, tenant_id: tenantId, name: 'Transalp', updated_at: new Date() }).execute();
    await handle.executeUpdate(updateAssignmentUpdate, { args: [{ carrierId, actor: 'api-key:k1' }] });
    await handle.executeUpdate(recordDeliveryEventUpdate, {
      args: [{ eventId: 'exc-1', type: 'EXCEPTION', at: fixes[29]!.recordedAt, exceptionCode: 'DAMAGED', note: 'pallet 3 wrapped loose' }],
    });
    await handle.executeUpdate(recordDeliveryEventUpdate, { args: [{ eventId: 'arr-3', type: 'MANUAL_ARRIVAL', at: fixes[60]!.recordedAt, stopSequence: 3 }] }).catch(() => undefined);
    await signalPaced(handle, fixes.slice(30, 80), 25);
    await handle.executeUpdate(recordDeliveryEventUpdate, { args: [{ eventId: 'pod-1', type: 'PROOF_OF_DELIVERY', at: fixes[80]!.recordedAt, signedBy: 'J. Dupont' }] });
    await handle.result();
    return handle;
  },
};

mkdirSync(out, { recursive: true });
try {
  for (const [name, run] of Object.entries(scenarios)) await save(name, await run());
} finally {
  await worker.stop();
  await env.teardown();
  await database.drop();
}
