// The shipment workflow on the time-skipping test server, with a real worker in-process running
// the real activities against a real, freshly migrated Postgres database. Fixes reach it the way
// the API sends them: stored with their sequence, then a wake-up (test/support/ingest.ts).
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShipmentActivities } from '../../activities/index.js';
import { applyFixes, initialTrackingState } from '../../domain/milestones.js';
import type { ShipmentProgress } from '../../domain/timeline.js';
import type { Fix, ShipmentPlan, ShipmentView } from '../../domain/types.js';
import { bundleShipmentWorkflows } from '../../worker/worker.js';
import {
  cancelShipmentUpdate,
  DEFAULT_WORKFLOW_SETTINGS,
  PROJECTION_WRITE_REJECTED,
  recordDeliveryEventUpdate,
  CANCEL_FAILURES,
  shipmentStateQuery,
  shipmentWorkflowId,
  type ShipmentWorkflowSettings,
} from '../../workflows/contract.js';
import { shipmentWorkflow } from '../../workflows/shipment.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { fixPusher, type PushFixes } from '../support/ingest.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';
import { startShipmentWorker, type RunningShipmentWorker } from '../support/worker.js';
import { chunk, eventually, insertShipment, insertTenant, isWorkflowIdle, shuffledBatches, THREE_STOPS, threeStopTrip } from './harness.js';

const TASK_QUEUE = 'shipments-workflow-test';
const SETTINGS: ShipmentWorkflowSettings = { ...DEFAULT_WORKFLOW_SETTINGS, deliveryGraceMs: 6 * 60 * 60 * 1000 };

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let worker: RunningShipmentWorker;
let tenantId: string;
let realActivities: ShipmentActivities;
let push: PushFixes;
/** Every snapshot the worker persisted, per shipment, in call order. */
const persisted = new Map<string, ShipmentProgress[]>();
/** Holds a shipment's CANCELLED write until the test releases it. */
const cancelGates = new Map<string, Promise<void>>();
/** Shipments whose projection writes are refused / whose ETA predictions fail. */
const failingWrites = new Set<string>();
const failingEtas = new Set<string>();

beforeAll(async () => {
  [env, database] = await Promise.all([startTimeSkippingTemporal(), createTestDatabase()]);
  tenantId = await insertTenant(database.db);
  push = fixPusher(database.db, env.client);
  worker = await startShipmentWorker({
    temporal: env,
    db: database.db,
    taskQueue: TASK_QUEUE,
    activities: (real) => {
      realActivities = real;
      return {
        ...real,
        async persistShipmentProgress(progress) {
          // Refused for good, as Postgres refuses data it cannot store: no activity retries, the workflow's own retry.
          if (failingWrites.has(progress.shipmentId)) throw ApplicationFailure.nonRetryable('value too long for type character varying (test)', PROJECTION_WRITE_REJECTED);
          const gate = progress.status === 'CANCELLED' ? cancelGates.get(progress.shipmentId) : undefined;
          if (gate) await gate;
          persisted.set(progress.shipmentId, [...(persisted.get(progress.shipmentId) ?? []), progress]);
          return real.persistShipmentProgress(progress);
        },
        async predictShipmentEta(request) {
          if (failingEtas.has(request.shipmentId)) throw new Error('ETA model unavailable (test)');
          return real.predictShipmentEta(request);
        },
      };
    },
  });
});

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await database?.drop();
});

type Handle = WorkflowHandleWithFirstExecutionRunId<typeof shipmentWorkflow>;

async function start(plan: ShipmentPlan, settings: ShipmentWorkflowSettings = SETTINGS): Promise<Handle> {
  return env.client.workflow.start(shipmentWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: shipmentWorkflowId(plan.tenantId, plan.shipmentId),
    args: [{ plan, settings }],
  });
}

async function pushInBatches(plan: ShipmentPlan, batches: readonly Fix[][]): Promise<void> {
  for (const batch of batches) await push(plan, batch);
}

/** The view once the workflow is idle (a query racing a task can stall time skipping). */
async function settledView(handle: Pick<Handle, 'fetchHistory' | 'query'>): Promise<ShipmentView> {
  await eventually(() => isWorkflowIdle(handle), (idle) => idle, 'workflow idle');
  return handle.query(shipmentStateQuery);
}

function expectedMilestones(fixes: Fix[]) {
  const { events } = applyFixes(initialTrackingState(THREE_STOPS), fixes, THREE_STOPS);
  return events.flatMap((e) => (e.kind === 'milestone' ? [{ type: e.type, stopSequence: e.stopSequence, at: e.at }] : []));
}

const TRIP_EVENT_KEYS = [
  'SHIPMENT_CREATED',
  'ARRIVED:1',
  'STATUS:1:AT_STOP',
  'DEPARTED:1',
  'STATUS:2:IN_TRANSIT',
  'ARRIVED:2',
  'STATUS:3:AT_STOP',
  'DEPARTED:2',
  'STATUS:4:IN_TRANSIT',
  'ARRIVED:3',
  'STATUS:5:AT_STOP',
  'DEPARTED:3',
  'DELIVERED',
];

async function timeline(shipmentId: string) {
  return database.db
    .selectFrom('shipment_events')
    .select(['event_key', 'type', 'occurred_at', 'stop_sequence', 'data', 'actor'])
    .where('shipment_id', '=', shipmentId)
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();
}

const milestoneKeys = async (shipmentId: string) => (await timeline(shipmentId)).map((r) => r.event_key).filter((k) => !k.startsWith('ETA:') && !k.startsWith('ANOMALY_'));

describe('a three-stop trip pushed in batches', () => {
  const fixes = threeStopTrip();
  const expected = expectedMilestones(fixes);
  let plan: ShipmentPlan;
  let handle: Handle;
  let delivered: ShipmentView;

  beforeAll(async () => {
    plan = await insertShipment(database.db, tenantId);
    handle = await start(plan);
    await pushInBatches(plan, chunk(fixes, 25));
    delivered = await eventually(() => settledView(handle), (v) => v.status === 'DELIVERED', 'delivery');
  });

  it('decides every milestone at the fix time that showed it', () => {
    expect(expected.map((m) => `${m.type}:${m.stopSequence}`)).toEqual(['ARRIVED:1', 'DEPARTED:1', 'ARRIVED:2', 'DEPARTED:2', 'ARRIVED:3', 'DEPARTED:3']);
    expect(delivered.milestones).toEqual(expected);
    expect(delivered.stops.map((s) => s.status)).toEqual(['DEPARTED', 'DEPARTED', 'DEPARTED']);
  });

  it('applies every stored fix exactly once', () => {
    expect(delivered.fixCounts).toEqual({ applied: fixes.length, duplicates: 0, late: 0, ignored: 0, rewinds: 0 });
  });

  it('writes each timeline event once, in order, with the stop and the deciding position', async () => {
    const rows = await eventually(() => milestoneKeys(plan.shipmentId), (keys) => keys.includes('DELIVERED'), 'timeline written');
    expect(rows).toEqual(TRIP_EVENT_KEYS);
    const arrived2 = (await timeline(plan.shipmentId)).find((r) => r.event_key === 'ARRIVED:2')!;
    expect(arrived2).toMatchObject({ type: 'ARRIVED', stop_sequence: 2, data: { stopName: 'Vénissieux cross-dock', stopType: 'waypoint' } });
    expect(arrived2.occurred_at.toISOString()).toBe(expected[2]!.at);
    expect(typeof arrived2.data.lat).toBe('number');
  });

  it('keeps the projection rows current and moves their version forward with every snapshot', async () => {
    const shipment = await database.db.selectFrom('shipments').selectAll().where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(shipment).toMatchObject({ status: 'DELIVERED', milestones: expected });
    const versions = persisted.get(plan.shipmentId)!.map((p) => p.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    expect(Number(shipment.projection_version)).toBe(versions.at(-1));
    // last_position is throttled: far fewer snapshots than fixes.
    expect(versions.length).toBeLessThan(fixes.length / 2);
    const stops = await database.db.selectFrom('stops').selectAll().where('shipment_id', '=', plan.shipmentId).orderBy('sequence').execute();
    expect(stops.map((s) => [s.status, s.arrived_at?.toISOString(), s.departed_at?.toISOString()])).toEqual(
      [1, 2, 3].map((sequence) => ['DEPARTED', expected.find((m) => m.type === 'ARRIVED' && m.stopSequence === sequence)!.at, expected.find((m) => m.type === 'DEPARTED' && m.stopSequence === sequence)!.at]),
    );
  });

  it('takes late fixes during the grace period without changing a decision, then completes', async () => {
    await push(plan, threeStopTrip(new Date('2026-03-02T12:00:00.000Z')).slice(0, 30));
    const final = await handle.result(); // the 6-hour grace timer is skipped
    expect(final.status).toBe('DELIVERED');
    expect(final.milestones).toEqual(expected);
    expect(final.fixCounts).toMatchObject({ applied: fixes.length + 30, ignored: 0 });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  it('replays its own history', async () => {
    await Worker.runReplayHistory({ workflowBundle: await bundleShipmentWorkflows() }, await handle.fetchHistory(), handle.workflowId);
  });
});

describe('fixes that arrive late or out of order', () => {
  const fixes = threeStopTrip();
  const expected = expectedMilestones(fixes);

  it('decides the same milestones for shuffled uploads as for the trip in time order', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    for (const batch of shuffledBatches(fixes, 12, 7)) {
      await push(plan, batch);
      await eventually(() => isWorkflowIdle(handle), (idle) => idle, 'batch decided');
    }
    const view = await eventually(() => settledView(handle), (v) => v.fixCounts?.applied === fixes.length, 'every fix applied');
    expect(view.status).toBe('DELIVERED');
    expect(view.milestones.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))).toEqual(expected);
    expect(view.fixCounts!.rewinds).toBeGreaterThan(0);
    await handle.terminate('test finished');
  });

  it('decides the same for every batching and task grouping: paced, in one burst, shuffled, reversed', async () => {
    const deliveries: Record<string, (plan: ShipmentPlan, handle: Handle) => Promise<void>> = {
      paced: async (plan, handle) => {
        for (const batch of chunk(fixes, 9)) {
          await push(plan, batch);
          await eventually(() => isWorkflowIdle(handle), (idle) => idle, 'batch decided');
        }
      },
      // Stored faster than decided: one outstanding wake-up covers many requests.
      burst: (plan) => pushInBatches(plan, chunk(fixes, 3)),
      shuffled: (plan) => pushInBatches(plan, shuffledBatches(fixes, 5, 11)),
      reversed: (plan) => pushInBatches(plan, chunk([...fixes].reverse(), 20)),
    };
    const outcomes = await Promise.all(
      Object.entries(deliveries).map(async ([name, deliver]) => {
        const plan = await insertShipment(database.db, tenantId);
        const handle = await start(plan);
        await deliver(plan, handle);
        const view = await eventually(() => settledView(handle), (v) => v.fixCounts?.applied === fixes.length, `${name}: every fix applied`);
        await handle.terminate('test finished');
        return { name, status: view.status, milestones: [...view.milestones].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)), anomalies: view.anomalies.length };
      }),
    );
    for (const outcome of outcomes) expect({ ...outcome, name: 'any' }).toEqual({ name: 'any', status: 'DELIVERED', milestones: expected, anomalies: outcomes[0]!.anomalies });
  });

  it('records a correction, never a rewrite, when a late fix moves a milestone', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    // The truck's first fix inside the pickup arrives after the rest of the visit.
    const arrivalIndex = fixes.findIndex((f) => f.recordedAt === expected[0]!.at);
    const first = fixes.slice(0, arrivalIndex + 1);
    await push(plan, fixes.slice(arrivalIndex + 1, arrivalIndex + 10));
    await eventually(() => settledView(handle), (v) => v.milestones.length === 1, 'arrival from the later fixes');
    await push(plan, first);
    const view = await eventually(() => settledView(handle), (v) => v.milestones[0]?.at === expected[0]!.at, 'arrival corrected');
    expect(view.milestones).toEqual([expected[0]]);
    const rows = await eventually(() => timeline(plan.shipmentId), (r) => r.some((e) => e.event_key === 'ARRIVED:1:r1'), 'correction written');
    const arrivals = rows.filter((r) => r.type === 'ARRIVED');
    expect(arrivals.map((r) => r.event_key)).toEqual(['ARRIVED:1:r1', 'ARRIVED:1']);
    expect(arrivals[0]!.occurred_at.toISOString()).toBe(expected[0]!.at);
    expect(arrivals[0]!.data).toMatchObject({ corrected: true, supersedes: 'ARRIVED:1' });
    await handle.terminate('test finished');
  });
});

describe('cancellation', () => {
  it('cancels through the Update, idempotently, and completes', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    await pushInBatches(plan, chunk(threeStopTrip().slice(0, 10), 5));
    await eventually(() => settledView(handle), (v) => v.status === 'AT_STOP', 'arrival at the pickup');

    let release!: () => void;
    cancelGates.set(plan.shipmentId, new Promise<void>((resolve) => (release = resolve)));
    // Two cancels race (a client retry); the second lands while the first is still persisting.
    const first = await handle.startUpdate(cancelShipmentUpdate, { args: [{ reason: 'customer cancelled the order', actor: 'api-key:k1' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    const second = await handle.startUpdate(cancelShipmentUpdate, { args: [{ reason: 'retry', actor: 'api-key:k1' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    release();
    const [a, b] = await Promise.all([first.result(), second.result()]);
    expect(a.status).toBe('CANCELLED');
    expect(b).toEqual(a);
    expect(a.cancellation?.reason).toBe('customer cancelled the order');

    expect((await handle.result()).status).toBe('CANCELLED');
    const rows = await timeline(plan.shipmentId);
    expect(rows.filter((r) => r.type === 'CANCELLED')).toHaveLength(1);
    expect(rows.at(-1)).toMatchObject({ event_key: 'CANCELLED', actor: 'api-key:k1', data: { from: 'AT_STOP', to: 'CANCELLED', reason: 'customer cancelled the order' } });
    const shipment = await database.db.selectFrom('shipments').selectAll().where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(shipment.status).toBe('CANCELLED');
    expect(shipment.cancellation).toEqual({ reason: 'customer cancelled the order', at: a.cancellation!.at });
  });

  it('refuses to cancel a delivered shipment, and a blank reason, in the validator', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    await push(plan, threeStopTrip());
    await eventually(() => settledView(handle), (v) => v.status === 'DELIVERED', 'delivery');

    const error = await handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason: 'too late' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (error as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(CANCEL_FAILURES.alreadyDelivered);
    expect(await handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason: ' ' }] }).catch((e: unknown) => e)).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((await settledView(handle)).status).toBe('DELIVERED');
    expect((await timeline(plan.shipmentId)).some((r) => r.type === 'CANCELLED')).toBe(false);
    await handle.terminate('test finished');
  });
});

describe('the stack-trace query', () => {
  it('names the line the shipment waits on, in a few frames per promise', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    await pushInBatches(plan, chunk(threeStopTrip().slice(0, 10), 5));
    await settledView(handle);
    const trace: string = await handle.query('__stack_trace');
    expect(trace).toMatch(/at trackShipment \(.*workflows\/shipment\.ts:\d+:\d+\)/);
    // One block per waiting promise, each cut to the sandbox's stack depth (sandbox-stack-depth.ts):
    // six frames, of which the SDK's promise hook takes two.
    for (const block of trace.split(/\n\n+/)) expect(block.split('\n').filter((line) => line.trim().startsWith('at ')).length).toBeLessThanOrEqual(4);
    await handle.terminate('test finished');
  });
});

describe('bounded runs', () => {
  async function runs(handle: Handle): Promise<number> {
    let count = 0;
    for (let runId: string | undefined = handle.firstExecutionRunId; runId; count += 1) {
      const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return count;
  }

  it('continues as new when a run reaches its history bound, losing and repeating nothing', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan, { ...SETTINGS, maxHistoryEventsPerRun: 30 });
    const fixes = threeStopTrip();
    for (const batch of chunk(fixes, 6)) {
      await push(plan, batch);
      await eventually(() => isWorkflowIdle(env.client.workflow.getHandle(handle.workflowId)), (idle) => idle, 'batch decided');
    }
    const final = await eventually(() => settledView(env.client.workflow.getHandle(handle.workflowId)), (v) => v.status === 'DELIVERED', 'delivered');
    expect(final.milestones).toEqual(expectedMilestones(fixes));
    expect(final.fixCounts).toEqual({ applied: fixes.length, duplicates: 0, late: 0, ignored: 0, rewinds: 0 });
    expect(await runs(handle)).toBeGreaterThan(3);
    expect(await eventually(() => milestoneKeys(plan.shipmentId), (keys) => keys.includes('DELIVERED'), 'timeline written')).toEqual(TRIP_EVENT_KEYS);
    const versions = persisted.get(plan.shipmentId)!.map((p) => p.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    // Each event was handed to the activity exactly once across all runs.
    expect(persisted.get(plan.shipmentId)!.flatMap((p) => p.events.map((e) => e.key)).filter((k) => !k.startsWith('ETA:'))).toEqual(TRIP_EVENT_KEYS);
    await env.client.workflow.getHandle(handle.workflowId).terminate('test finished');
  });

  it('continues as new on its own signal count', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan, { ...SETTINGS, maxSignalsPerRun: 3 });
    const fixes = threeStopTrip();
    for (const batch of chunk(fixes, 10)) {
      await push(plan, batch);
      await eventually(() => isWorkflowIdle(env.client.workflow.getHandle(handle.workflowId)), (idle) => idle, 'batch decided');
    }
    const final = await eventually(() => settledView(env.client.workflow.getHandle(handle.workflowId)), (v) => v.status === 'DELIVERED', 'delivered');
    expect(final.milestones).toEqual(expectedMilestones(fixes));
    expect(await runs(handle)).toBeGreaterThanOrEqual(3);
    await env.client.workflow.getHandle(handle.workflowId).terminate('test finished');
  });
});

describe('no wedged shipment', () => {
  it('keeps deciding fixes and answering Updates while every projection write fails, then catches up', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    failingWrites.add(plan.shipmentId);
    const fixes = threeStopTrip();
    await push(plan, fixes.slice(0, 40));
    const view = await eventually(() => settledView(handle), (v) => v.fixCounts?.applied === 40, 'fixes decided while writes fail');
    expect(view.milestones.length).toBeGreaterThan(0);
    // An Update answers within its own bound, with its decision made.
    const answered = await handle.executeUpdate(recordDeliveryEventUpdate, { args: [{ eventId: 'exc-1', type: 'EXCEPTION', at: fixes[39]!.recordedAt, exceptionCode: 'DAMAGED' }] });
    expect(answered.status).toBe(view.status);
    const description = await handle.describe();
    expect(description.raw.workflowExecutionInfo?.searchAttributes?.indexedFields?.TrackingProblems).toBeDefined();
    expect((await database.db.selectFrom('shipment_events').select('event_key').where('shipment_id', '=', plan.shipmentId).execute()).length).toBe(0);

    failingWrites.delete(plan.shipmentId);
    await env.sleep('10 minutes'); // the workflow's retry timer
    await push(plan, fixes.slice(40));
    await eventually(() => milestoneKeys(plan.shipmentId), (keys) => keys.includes('DELIVERED'), 'projection caught up');
    expect((await milestoneKeys(plan.shipmentId)).filter((k) => !k.startsWith('EVENT:'))).toEqual(TRIP_EVENT_KEYS);
    await handle.terminate('test finished');
  });

  it('keeps deciding fixes while the ETA activity fails', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    failingEtas.add(plan.shipmentId);
    const fixes = threeStopTrip();
    await pushInBatches(plan, chunk(fixes, 20));
    const view = await eventually(() => settledView(handle), (v) => v.status === 'DELIVERED', 'delivery without ETAs');
    expect(view.milestones).toEqual(expectedMilestones(fixes));
    expect(view.eta).toBeUndefined();
    await handle.terminate('test finished');
  });
});

describe('the persistence activity', () => {
  it('writes nothing twice when retried, and never rolls the projection back', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const arrival: ShipmentProgress = {
      tenantId: plan.tenantId,
      shipmentId: plan.shipmentId,
      version: 1,
      status: 'AT_STOP',
      updatedAt: '2026-03-02T06:05:00.000Z',
      stops: [{ sequence: 1, status: 'ARRIVED', arrivedAt: '2026-03-02T06:00:00.000Z' }],
      lastPosition: { recordedAt: '2026-03-02T06:00:00.000Z', lat: 45.7289, lon: 4.8317 },
      events: [
        { key: 'ARRIVED:1', type: 'ARRIVED', occurredAt: '2026-03-02T06:00:00.000Z', stopSequence: 1, data: { stopName: 'Lyon Gerland DC' } },
        { key: 'STATUS:1:AT_STOP', type: 'STATUS_CHANGED', occurredAt: '2026-03-02T06:00:00.000Z', stopSequence: 1, data: { from: 'PLANNED', to: 'AT_STOP' } },
      ],
    };
    const departure: ShipmentProgress = {
      ...arrival,
      version: 2,
      status: 'IN_TRANSIT',
      stops: [{ sequence: 1, status: 'DEPARTED', arrivedAt: '2026-03-02T06:00:00.000Z', departedAt: '2026-03-02T06:30:00.000Z' }],
      events: [{ key: 'DEPARTED:1', type: 'DEPARTED', occurredAt: '2026-03-02T06:30:00.000Z', stopSequence: 1, data: {} }],
    };

    expect(await realActivities.persistShipmentProgress(arrival)).toEqual({ applied: true, eventsInserted: 2, projectionVersion: 1 });
    expect(await realActivities.persistShipmentProgress(arrival)).toEqual({ applied: false, eventsInserted: 0, projectionVersion: 1 });
    expect(await realActivities.persistShipmentProgress(departure)).toEqual({ applied: true, eventsInserted: 1, projectionVersion: 2 });
    // A late retry of the first write after the second one landed.
    expect(await realActivities.persistShipmentProgress(arrival)).toEqual({ applied: false, eventsInserted: 0, projectionVersion: 2 });
    expect((await timeline(plan.shipmentId)).map((r) => r.event_key)).toEqual(['ARRIVED:1', 'STATUS:1:AT_STOP', 'DEPARTED:1']);
  });

  it('stores text Postgres refuses (NUL, lone surrogates) with a replacement character instead of failing forever', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const progress: ShipmentProgress = {
      tenantId: plan.tenantId,
      shipmentId: plan.shipmentId,
      version: 1,
      status: 'IN_TRANSIT',
      updatedAt: '2026-03-02T06:05:00.000Z',
      stops: [],
      events: [{ key: 'EVENT:e1', type: 'EXCEPTION', occurredAt: '2026-03-02T06:00:00.000Z', data: { note: 'a\u0000b\ud800c' } }],
    };
    expect(await realActivities.persistShipmentProgress(progress)).toMatchObject({ applied: true, eventsInserted: 1 });
    expect((await timeline(plan.shipmentId))[0]!.data).toEqual({ note: 'a\ufffdb\ufffdc' });
  });
});
