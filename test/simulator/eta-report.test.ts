// `npm run eta:report -- --simulate N`: simulated trips replayed through the real prediction code
// give model and baseline figures at every horizon, printed and saved as JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HORIZONS_MIN } from '../../domain/eta/index.js';
import { DEFAULT_GEOFENCE_CONFIG } from '../../domain/geofence.js';
import { PROJECT_ROOT } from '../../infra/tools.js';
import type { EtaReportFile } from '../../scripts/eta-report.js';
import { simulateEtaData } from '../../simulator/eta-replay.js';

describe('eta:report on simulated trips', () => {
  it('replays trips at the workflow’s schedule: predictions before each arrival, from both sources, never after it', () => {
    const data = simulateEtaData({ trips: 3, seed: 'eta-test' });
    expect(data.delivered).toBeGreaterThan(0);
    expect(data.arrivals.length).toBeGreaterThanOrEqual(2 * data.delivered);
    const sources = new Set(data.predictions.map((p) => p.source));
    expect([...sources].sort()).toEqual(['baseline', 'model']);
    // A stop is predicted only while pending, i.e. until its visit is confirmed: at most the dwell
    // rule (10 min) and one 5-min report interval after the arrival, which is stamped at the visit's first fix.
    const confirmationMs = (DEFAULT_GEOFENCE_CONFIG.arrival.dwellMin + 5) * 60_000;
    for (const arrival of data.arrivals) {
      const before = data.predictions.filter((p) => p.shipmentId === arrival.shipmentId && p.stopSequence === arrival.stopSequence);
      for (const p of before) expect(Date.parse(p.predictedAt)).toBeLessThanOrEqual(Date.parse(arrival.arrivedAt) + confirmationMs);
    }
    // Same seed, same figures.
    expect(simulateEtaData({ trips: 3, seed: 'eta-test' })).toEqual(data);
  });

  it('prints model versus baseline at 30 min, 1 h, 2 h and 4 h and saves the JSON', { timeout: 120_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), 'eta-report-'));
    try {
      const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/eta-report.ts'), '--simulate', '6', '--seed', 'eta-test', '--out', out], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      });
      expect(stdout).toMatch(/ETA accuracy over \d+ delivered simulated trips \(seed eta-test/);
      expect(stdout).toMatch(/horizon\s+samples\s+model MAE\s+model ±15\s+baseline MAE\s+baseline ±15/);
      for (const label of ['30 min', '1 h', '2 h', '4 h']) expect(stdout).toMatch(new RegExp(`^${label}\\s+\\d+\\s+\\d+\\.\\d min\\s+\\d+%`, 'm'));

      const [file] = readdirSync(out);
      expect(file).toMatch(/^eta-report-simulation-.*\.json$/);
      const report = JSON.parse(readFileSync(join(out, file!), 'utf8')) as EtaReportFile;
      expect(report.source).toBe('simulation');
      expect(report.report.horizons.map((h) => h.horizonMin)).toEqual([...DEFAULT_HORIZONS_MIN]);
      for (const horizon of report.report.horizons.slice(0, 3)) {
        for (const source of ['model', 'baseline']) {
          const stats = horizon.bySource[source]!;
          expect(stats.samples).toBeGreaterThan(0);
          expect(stats.meanAbsoluteErrorMin).toBeGreaterThanOrEqual(0);
          expect(stats.withinToleranceShare).toBeGreaterThanOrEqual(0);
          expect(stats.withinToleranceShare).toBeLessThanOrEqual(1);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('saves nothing without --out, so a run does not dirty the tree', { timeout: 120_000 }, () => {
    const results = join(PROJECT_ROOT, 'bench', 'results');
    const before = readdirSync(results);
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts/eta-report.ts'), '--simulate', '2', '--seed', 'eta-test'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(stdout).toMatch(/ETA accuracy over \d+ delivered simulated trips/);
    expect(stdout).not.toMatch(/saved /);
    expect(readdirSync(results)).toEqual(before);
  });
});
