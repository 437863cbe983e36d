// Deferred wake-ups end to end: with deferral on, fixes inside a shipment's calm zone are stored
// without waking its workflow and delivered a moment later in one batch. The simulator drives
// scenarios whose decisions depend on where and when fixes land (arrivals, a drive-by, leaving
// the route, a long dwell) through a real API listener, Postgres, Temporal and worker; each must
// still come out exactly as its scenario says, every stored fix must be read, and uploads must
// really have been deferred. Meanwhile a deferred fix is the shipment's reported position at once,
// while its `lastPosition` stays the workflow's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMarks } from '../../db/repositories/fix-ingest.js';
import { createLogger } from '../../infra/logger.js';
import type { Fix, ShipmentView } from '../../domain/types.js';
import { ApiClient, sleep } from '../../simulator/api-client.js';
import { drivePlan } from '../../simulator/drive.js';
import { toFix } from '../../simulator/motion.js';
import { createShipmentBody, planSimulation } from '../../simulator/scenarios.js';
import { startInProcessStack, type InProcessStack } from '../support/stack.js';

const logger = createLogger({ name: 'deferred-wakeups-e2e', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let stack: InProcessStack;

beforeAll(async () => {
  stack = await startInProcessStack({ logger, tenantName: 'Deferred Freight', role: 'admin', deferMs: 1_000 });
});

afterAll(async () => {
  await stack?.close();
});

describe('deferred wake-ups', () => {
  it('defer calm fixes and decide every scenario as without deferral', { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    const scenarios = ['on-time', 'drive-by', 'off-route', 'long-dwell'] as const;
    const plans = scenarios.map((scenario) => planSimulation({ seed: `deferred-${scenario}`, vehicles: 1, scenario, minKm: 120, maxKm: 300 }));
    const reports = await Promise.all(
      plans.map((plan, i) =>
        drivePlan({
          client: new ApiClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey }),
          plan,
          // Ten minutes of trip per real second: a deferral window of one second holds ten minutes of fixes.
          acceleration: 600,
          runTag: `deferred${i}`,
          log: (line) => lines.push(line),
          progressEveryMs: 0,
          settleMs: 60_000,
          checkAnomalies: true,
        }),
      ),
    );
    for (const report of reports) {
      for (const check of report.checks) {
        expect(check.problems, `${check.scenario}: ${check.problems.join('; ')}\n${lines.join('\n')}`).toEqual([]);
        const marks = await ingestMarks(stack.database.db, check.view.id);
        expect(marks && marks.loaded).toBe(marks?.stored);
      }
    }
    expect(stack.deferredUploads()).toBeGreaterThan(0);
  });
});

describe('the reported position', () => {
  let patient: InProcessStack;
  beforeAll(async () => {
    // A deferral far longer than the test: a deferred fix stays unread until the end.
    patient = await startInProcessStack({ logger, tenantName: 'Patient Freight', role: 'admin', deferMs: 600_000 });
  });
  afterAll(async () => {
    await patient?.close();
  });

  it('is a deferred fix at once, while lastPosition stays the last fix the workflow applied', { timeout: 120_000 }, async () => {
    const client = new ApiClient({ baseUrl: patient.baseUrl, apiKey: patient.apiKey });
    const [spec] = planSimulation({ seed: 'reported-position', vehicles: 1, scenario: 'on-time', minKm: 120, maxKm: 300 }).shipments;
    const tripStart = Date.now() - spec!.trace.endMs - 60_000;
    const shipment = await client.json<ShipmentView>('POST', '/v1/shipments', createShipmentBody(spec!, { reference: 'REPORTED-1', tripStartMs: tripStart }));
    const view = async () => client.json<ShipmentView & { reportedPosition?: Fix }>('GET', `/v1/shipments/${shipment.id}`);
    const untilApplied = async (fix: Fix) => {
      for (let polls = 0; (await view()).lastPosition?.recordedAt !== fix.recordedAt; polls++) {
        expect(polls, `the workflow never applied the fix of ${fix.recordedAt}`).toBeLessThan(300);
        await sleep(100);
      }
    };

    // Mid-trip on the open road: the first uploads wake the workflow, until it states a calm zone.
    const fixes = spec!.trace.fixes.map((fix) => toFix(fix, tripStart));
    let applied: Fix | undefined;
    for (const fix of fixes.slice(Math.floor(fixes.length * 0.3), Math.floor(fixes.length * 0.6))) {
      const outcome = await client.postShipmentPositions(shipment.id, [fix]);
      expect(outcome.status).toBe(202);
      if (!outcome.deferred) {
        await untilApplied(fix);
        applied = fix;
        const shown = await view();
        expect(shown.reportedPosition).toEqual(shown.lastPosition);
        continue;
      }
      const shown = await view();
      expect(applied, 'a zone is stated only after a read').toBeDefined();
      expect(shown.lastPosition?.recordedAt).toBe(applied!.recordedAt);
      expect(shown.reportedPosition?.recordedAt).toBe(fix.recordedAt);
      expect(shown.reportedPosition).toMatchObject({ lat: fix.lat, lon: fix.lon });
      // An older fix uploaded late is stored but is not where the truck is now.
      await client.postShipmentPositions(shipment.id, [{ ...applied!, recordedAt: new Date(Date.parse(applied!.recordedAt) - 10_000).toISOString() }]);
      expect((await view()).reportedPosition?.recordedAt).toBe(fix.recordedAt);
      return;
    }
    expect.fail('no upload was deferred on the open road');
  });
});
