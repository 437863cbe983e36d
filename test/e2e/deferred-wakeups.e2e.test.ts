// Deferred wake-ups end to end: with deferral on, fixes inside a shipment's calm zone are stored
// without waking its workflow and delivered a moment later in one batch. The simulator drives
// scenarios whose decisions depend on where and when fixes land (arrivals, a drive-by, leaving
// the route, a long dwell) through a real API listener, Postgres, Temporal and worker; each must
// still come out exactly as its scenario says, every stored fix must be read, and uploads must
// really have been deferred.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMarks } from '../../db/repositories/fix-ingest.js';
import { createLogger } from '../../infra/logger.js';
import { ApiClient } from '../../simulator/api-client.js';
import { drivePlan } from '../../simulator/drive.js';
import { planSimulation } from '../../simulator/scenarios.js';
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
