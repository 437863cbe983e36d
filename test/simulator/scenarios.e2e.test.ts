// Every scenario end to end: the simulator drives a small fleet at strong acceleration through a
// real API listener (real Postgres, the real Temporal dev server, the real shipment worker) and
// each shipment must show the milestones and final status its scenario is meant to produce.
// Each scenario must also raise (and resolve) the anomaly it provokes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logger.js';
import { ApiClient } from '../../simulator/api-client.js';
import { drivePlan } from '../../simulator/drive.js';
import { planSimulation, SCENARIO_NAMES } from '../../simulator/scenarios.js';
import { startInProcessStack, type InProcessStack } from '../support/stack.js';

const logger = createLogger({ name: 'simulator-e2e', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let stack: InProcessStack;

beforeAll(async () => {
  stack = await startInProcessStack({ logger, tenantName: 'Simulated Freight', role: 'admin' });
});

afterAll(async () => {
  await stack?.close();
});

describe('simulator scenarios against the real platform', () => {
  it('produces each scenario’s milestones and final status and its anomaly', { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    // One short trip per scenario, all driven at once: an hour of trip per real second.
    const plans = SCENARIO_NAMES.map((scenario) => planSimulation({ seed: `e2e-${scenario}`, vehicles: 1, scenario, minKm: 120, maxKm: 300 }));
    const reports = await Promise.all(
      plans.map((plan, i) =>
        drivePlan({
          client: new ApiClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey }),
          plan,
          acceleration: 3_600,
          runTag: `e2e${i}`,
          log: (line) => lines.push(line),
          progressEveryMs: 0,
          settleMs: 60_000,
          checkAnomalies: true,
        }),
      ),
    );
    for (const report of reports) {
      // The API offers fleet routes and device keys, so the simulator drives every truck as its own device.
      expect(report.mode).toBe('device-keys');
      for (const check of report.checks) {
        expect(check.problems, `${check.scenario}: ${check.problems.join('; ')}\n${lines.join('\n')}`).toEqual([]);
        // Milestones carry the fixes' simulated times, which are never in the future.
        for (const m of check.view.milestones) expect(Date.parse(m.at)).toBeLessThanOrEqual(Date.now());
      }
    }
    const statuses = reports.flatMap((r) => r.checks.map((c) => `${c.scenario}:${c.view.status}`));
    expect(statuses).toContain('cancellation:CANCELLED');
    expect(statuses).toContain('on-time:DELIVERED');
  });
});
