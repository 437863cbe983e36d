// The shipment workflow on the time-skipping test server, with a real worker in-process
// running the real activities against a real, freshly migrated Postgres database.
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShipmentActivities } from '../../activities/index.js';
import { applyFixes, initialTrackingState } from '../../domain/milestones.js';
import type { ShipmentProgress } from '../../domain/timeline.js';
import type { Fix, ShipmentPlan } from '../../domain/types.js';
import { bundleShipmentWorkflows } from '../../worker/worker.js';
import {
  CANCEL_FAILURES,
  cancelShipmentUpdate,
  fixesReceivedSignal,
  shipmentStateQuery,
  shipmentWorkflowId,
  type ShipmentWorkflowSettings,
} from '../../workflows/contract.js';
import { shipmentWorkflow } from '../../workflows/shipment.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTimeSkippingTemporal } from '../support/temporal.js';
import { startShipmentWorker, type RunningShipmentWorker } from '../support/worker.js';
import { chunk, eventually, insertShipment, insertTenant, isWorkflowIdle, THREE_STOPS, threeStopTrip } from './harness.js';

const TASK_QUEUE = 'shipments-workflow-test';
const SETTINGS: ShipmentWorkflowSettings = { deliveryGraceMs: 6 * 60 * 60 * 1000, maxSignalsPerRun: 2_000 };

let env: TestWorkflowEnvironment;
let database: TestDatabase;
let worker: RunningShipmentWorker;
let tenantId: string;
let realActivities: ShipmentActivities;
/** Every snapshot the worker persisted, per shipment, in call order. */
const persisted = new Map<string, ShipmentProgress[]>();
/** Holds a shipment's CANCELLED write until the test releases it. */
const cancelGates = new Map<string, Promise<void>>();

beforeAll(async () => {
  [env, database] = await Promise.all([startTimeSkippingTemporal(), createTestDatabase()]);
  tenantId = await insertTenant(database.db);
  worker = await startShipmentWorker({
    temporal: env,
    db: database.db,
    taskQueue: TASK_QUEUE,
    activities: (real) => {
      realActivities = real;
      return {
        ...real,
        async persistShipmentProgress(progress) {
          const gate = progress.status === 'CANCELLED' ? cancelGates.get(progress.shipmentId) : undefined;
          if (gate) await gate;
          persisted.set(progress.shipmentId, [...(persisted.get(progress.shipmentId) ?? []), progress]);
          return real.persistShipmentProgress(progress);
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

async function start(plan: ShipmentPlan, settings: ShipmentWorkflowSettings = SETTINGS): Promise<WorkflowHandleWithFirstExecutionRunId<typeof shipmentWorkflow>> {
  return env.client.workflow.start(shipmentWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: shipmentWorkflowId(plan.tenantId, plan.shipmentId),
    args: [{ plan, settings }],
  });
}

async function sendInBatches(handle: WorkflowHandle, fixes: Fix[], size: number): Promise<void> {
  for (const batch of chunk(fixes, size)) await handle.signal(fixesReceivedSignal, { fixes: batch });
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

describe('shipment workflow', () => {
  it('detects every milestone of a three-stop trip, persists it once, and completes after the grace period', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    const fixes = threeStopTrip();
    const expected = expectedMilestones(fixes);
    expect(expected.map((m) => `${m.type}:${m.stopSequence}`)).toEqual(['ARRIVED:1', 'DEPARTED:1', 'ARRIVED:2', 'DEPARTED:2', 'ARRIVED:3', 'DEPARTED:3']);

    await sendInBatches(handle, fixes, 25);
    const view = await eventually(() => handle.query(shipmentStateQuery), (v) => v.status === 'DELIVERED', 'delivery');
    expect(view.milestones).toEqual(expected);
    expect(view.stops.map((s) => [s.sequence, s.name, s.status])).toEqual([
      [1, 'Lyon Gerland DC', 'DEPARTED'],
      [2, 'Vénissieux cross-dock', 'DEPARTED'],
      [3, 'Saint-Priest store', 'DEPARTED'],
    ]);
    // Milestones carry the fixes' times, not the processing time.
    for (const milestone of view.milestones) expect(fixes.map((f) => f.recordedAt)).toContain(milestone.at);

    // Late fixes during the grace period are accepted and change nothing.
    await handle.signal(fixesReceivedSignal, { fixes: threeStopTrip(new Date('2026-03-02T12:00:00.000Z')).slice(0, 30) });
    const final = await handle.result(); // the 6-hour grace timer is skipped
    expect(final.status).toBe('DELIVERED');
    expect(final.milestones).toEqual(expected);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    // Determinism: today's code replays the recorded history without a mismatch.
    await Worker.runReplayHistory({ workflowBundle: await bundleShipmentWorkflows() }, await handle.fetchHistory(), handle.workflowId);

    const rows = await timeline(plan.shipmentId);
    expect(rows.map((r) => r.event_key)).toEqual(TRIP_EVENT_KEYS);
    const arrived2 = rows.find((r) => r.event_key === 'ARRIVED:2')!;
    expect(arrived2).toMatchObject({ type: 'ARRIVED', stop_sequence: 2, data: { stopName: 'Vénissieux cross-dock', stopType: 'waypoint' } });
    expect(arrived2.occurred_at.toISOString()).toBe(expected[2]!.at);
    expect(typeof arrived2.data.lat).toBe('number');
    expect(rows.find((r) => r.event_key === 'DELIVERED')).toMatchObject({ type: 'DELIVERED', data: { from: 'AT_STOP', to: 'DELIVERED' } });

    const shipment = await database.db.selectFrom('shipments').selectAll().where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(shipment.status).toBe('DELIVERED');
    expect(shipment.last_position).not.toBeNull();
    const stops = await database.db.selectFrom('stops').selectAll().where('shipment_id', '=', plan.shipmentId).orderBy('sequence').execute();
    expect(stops.map((s) => [s.status, s.arrived_at?.toISOString(), s.departed_at?.toISOString()])).toEqual(
      [1, 2, 3].map((sequence) => [
        'DEPARTED',
        expected.find((m) => m.type === 'ARRIVED' && m.stopSequence === sequence)!.at,
        expected.find((m) => m.type === 'DEPARTED' && m.stopSequence === sequence)!.at,
      ]),
    );
    // The projection moved forward one version per snapshot, never back.
    const versions = persisted.get(plan.shipmentId)!.map((p) => p.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(shipment.projection_version).toBe(versions.length);
    // last_position is throttled: far fewer snapshots than fix batches plus milestones would need per fix.
    expect(versions.length).toBeLessThan(fixes.length / 2);
  });

  it('cancels through the update, idempotently, and completes', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    await sendInBatches(handle, threeStopTrip().slice(0, 10), 5);
    await eventually(() => handle.query(shipmentStateQuery), (v) => v.status === 'AT_STOP', 'arrival at the pickup');

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

    const final = await handle.result();
    expect(final.status).toBe('CANCELLED');
    const rows = await timeline(plan.shipmentId);
    expect(rows.filter((r) => r.type === 'CANCELLED')).toHaveLength(1);
    expect(rows.at(-1)).toMatchObject({ event_key: 'CANCELLED', actor: 'api-key:k1', data: { from: 'AT_STOP', to: 'CANCELLED', reason: 'customer cancelled the order' } });
    const shipment = await database.db.selectFrom('shipments').selectAll().where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(shipment.status).toBe('CANCELLED');
    expect(shipment.cancellation).toEqual({ reason: 'customer cancelled the order', at: a.cancellation!.at });
  });

  it('rejects cancelling a delivered shipment in the update validator', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan);
    await sendInBatches(handle, threeStopTrip(), 50);
    await eventually(() => handle.query(shipmentStateQuery), (v) => v.status === 'DELIVERED', 'delivery');

    const error = await handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason: 'too late' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (error as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(CANCEL_FAILURES.alreadyDelivered);
    expect((cause as ApplicationFailure).message).toMatch(/delivered and can no longer be cancelled/);

    const blank = await handle.executeUpdate(cancelShipmentUpdate, { args: [{ reason: ' ' }] }).catch((e: unknown) => e);
    expect(blank).toBeInstanceOf(WorkflowUpdateFailedError);

    expect((await handle.result()).status).toBe('DELIVERED');
    expect((await timeline(plan.shipmentId)).some((r) => r.type === 'CANCELLED')).toBe(false);
  });

  it('continues as new on its own signal count without losing or repeating anything', async () => {
    const plan = await insertShipment(database.db, tenantId);
    const handle = await start(plan, { ...SETTINGS, maxSignalsPerRun: 3 });
    const fixes = threeStopTrip();
    // Small batches (many signals, many runs), with a resend of every third batch as a client would retry.
    const batches = chunk(fixes, 4).flatMap((batch, i) => (i % 3 === 0 ? [batch, batch] : [batch]));
    const half = Math.floor(batches.length / 2);
    // First half paced (each batch processed before the next: one run per three signals), then a
    // burst, so runs also hand unprocessed fixes over to their successor.
    for (const batch of batches.slice(0, half)) {
      await handle.signal(fixesReceivedSignal, { fixes: batch });
      await eventually(() => isWorkflowIdle(env.client.workflow.getHandle(handle.workflowId)), (idle) => idle, 'batch processed');
    }
    for (const batch of batches.slice(half)) await handle.signal(fixesReceivedSignal, { fixes: batch });

    const final = await handle.result();
    expect(final.status).toBe('DELIVERED');
    expect(final.milestones).toEqual(expectedMilestones(fixes));

    const firstRun = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
    // Walk the chain of runs through their histories.
    let runs = 0;
    for (let runId: string | undefined = handle.firstExecutionRunId; runId; runs += 1) {
      const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    expect(runs).toBeGreaterThanOrEqual(Math.floor(half / 3));

    expect((await timeline(plan.shipmentId)).map((r) => r.event_key)).toEqual(TRIP_EVENT_KEYS);
    const versions = persisted.get(plan.shipmentId)!.map((p) => p.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    // Each event was handed to the activity exactly once across all runs.
    expect(persisted.get(plan.shipmentId)!.flatMap((p) => p.events.map((e) => e.key))).toEqual(TRIP_EVENT_KEYS);
  });

  it('writes nothing twice when the persistence activity is retried, and never rolls the projection back', async () => {
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
    const shipment = await database.db.selectFrom('shipments').selectAll().where('id', '=', plan.shipmentId).executeTakeFirstOrThrow();
    expect(shipment).toMatchObject({ status: 'IN_TRANSIT', projection_version: 2 });
    const stop = await database.db.selectFrom('stops').selectAll().where('shipment_id', '=', plan.shipmentId).where('sequence', '=', 1).executeTakeFirstOrThrow();
    expect(stop.status).toBe('DEPARTED');
    expect(stop.departed_at?.toISOString()).toBe('2026-03-02T06:30:00.000Z');
  });
});
