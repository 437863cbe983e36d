// The dbt project on a fixture made by trips driven through the real system: the Parquet export
// of one tenant, `dbt build` (models and every data test, the reconciliation included) on the
// DuckDB target, and marts that agree with the API's on-time, dwell and ETA-accuracy figures for
// the same tenant; the postgres target builds the same marts from the live tables; docs generate.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMarts, runDbt, type Marts } from '../../exports/analytics.js';
import { runExport } from '../../exports/export.js';
import { PROJECT_ROOT } from '../../infra/tools.js';
import { runWorker, startHarness, type Harness } from '../api/harness.js';
import { runSimulatedFleet, type SimulatedTrip } from '../support/simulated-fleet.js';

let h: Harness;
let stopWorker: () => Promise<void>;
let trips: SimulatedTrip[];
let marts: Marts;
const dir = mkdtempSync(join(tmpdir(), 'retrack-dbt-'));
const run = { exportsDir: join(dir, 'exports'), databasePath: join(dir, 'retrack.duckdb'), workDir: join(dir, 'work') };

beforeAll(async () => {
  h = await startHarness();
  stopWorker = await runWorker(h);
  trips = await runSimulatedFleet(h);
  const today = new Date().toISOString().slice(0, 10);
  await runExport({ db: h.database.db, out: run.exportsDir, format: 'parquet', from: '2026-01-01', to: today, tenantId: h.acme.id });
}, 300_000);

afterAll(async () => {
  await stopWorker?.();
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const close = (a: number | null | undefined, b: number | null | undefined) => {
  expect(a === null || a === undefined).toBe(b === null || b === undefined);
  if (a !== null && a !== undefined && b !== null && b !== undefined) expect(a).toBeCloseTo(b, 6);
};

describe('dbt build on the exports', () => {
  it('builds every model and passes every data test, the reconciliation of visits and milestones included', async () => {
    const result = await runDbt(['build'], run);
    expect(result.code, result.output).toBe(0);
    const done = /Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)/.exec(result.output);
    expect(done, result.output).not.toBeNull();
    expect(Number(done![1])).toBeGreaterThanOrEqual(40);
    expect(done!.slice(2).map(Number)).toEqual([0, 0, 0]);
    expect(result.output).toContain('PASS reconcile_stop_visits_with_milestones');
    marts = await readMarts(run.databasePath);
  }, 180_000);

  it("agrees with GET /v1/analytics/on-time, which agrees with the trips' windows", async () => {
    const api = (await h.call('GET', '/v1/analytics/on-time', h.acme.keys.viewer)).body;
    const acmeArrivals = trips.filter((t) => t.tenant.id === h.acme.id).flatMap((t) => t.arrivals);
    expect({ visits: api.visits, onTime: api.onTime }).toEqual({ visits: acmeArrivals.length, onTime: acmeArrivals.filter((a) => a.onTime).length });

    const mart = (dimension: string) => marts.onTime.filter((r) => r.dimension === dimension);
    const all = mart('all')[0]!;
    expect({ visits: all.visits, onTime: all.on_time_visits }).toEqual({ visits: api.visits, onTime: api.onTime });
    close(all.on_time_share, api.onTimeShare);
    close(all.mean_lateness_min, api.meanLatenessMin);
    const asRows = (rows: { key: string | null; visits: number; onTime: number; share: number | null }[]) =>
      rows.map((r) => [r.key, r.visits, r.onTime, Number(r.share?.toFixed(9))]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const fromMart = (dimension: string) => asRows(mart(dimension).map((r) => ({ key: r.dimension_value, visits: r.visits, onTime: r.on_time_visits, share: r.on_time_share })));
    expect(fromMart('facility')).toEqual(asRows(api.byFacility.map((r: any) => ({ key: r.facility, visits: r.visits, onTime: r.onTime, share: r.onTimeShare }))));
    expect(fromMart('week')).toEqual(asRows(api.byWeek.map((r: any) => ({ key: r.week, visits: r.visits, onTime: r.onTime, share: r.onTimeShare }))));
    expect(fromMart('carrier')).toEqual(asRows(api.byCarrier.map((r: any) => ({ key: r.carrierName ?? 'no carrier', visits: r.visits, onTime: r.onTime, share: r.onTimeShare }))));
    expect(api.byCarrier.length).toBe(2);
  });

  it('agrees with GET /v1/analytics/dwell', async () => {
    const api = (await h.call('GET', '/v1/analytics/dwell', h.acme.keys.viewer)).body.facilities;
    expect(marts.dwell.map((r) => r.facility)).toEqual(api.map((r: any) => r.facility));
    expect(api.length).toBe(3);
    for (const [i, row] of marts.dwell.entries()) {
      expect(row.visits).toBe(api[i].visits);
      close(row.dwell_p50_min, api[i].p50Min);
      close(row.dwell_p90_min, api[i].p90Min);
      close(row.dwell_mean_min, api[i].meanMin);
    }
  });

  it('agrees with GET /v1/analytics/eta-accuracy', async () => {
    const api = (await h.call('GET', '/v1/analytics/eta-accuracy', h.acme.keys.viewer)).body;
    const expected = api.horizons.flatMap((hz: any) =>
      Object.entries<any>(hz.bySource)
        .filter(([, stats]) => stats.samples > 0)
        .map(([source, stats]) => ({ horizon: hz.horizonMin, source, samples: stats.samples, mae: stats.meanAbsoluteErrorMin, bias: stats.meanErrorMin, within: stats.withinToleranceShare })),
    );
    expect(expected.length).toBeGreaterThan(0);
    const actual = marts.etaAccuracy.map((r) => ({ horizon: r.horizon_min, source: r.source, samples: r.samples, mae: r.mae_min, bias: r.bias_min, within: r.within_tolerance_share }));
    expect(actual.map((r) => [r.horizon, r.source, r.samples])).toEqual(expected.map((r: any) => [r.horizon, r.source, r.samples]));
    for (const [i, row] of actual.entries()) {
      close(row.mae, expected[i].mae);
      close(row.bias, expected[i].bias);
      close(row.within, expected[i].within);
    }
  });

  it('builds the same marts on the live Postgres tables with the postgres target', async () => {
    const result = await runDbt(['build'], { ...run, postgresUrl: h.database.url });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('PASS reconcile_stop_visits_with_milestones');
    // The live tables hold both tenants; the exports only acme's: compare acme's facilities' dwell
    // and the tenant-free ETA accuracy of acme only through the facts' tenant column.
    const { rows } = await sql<{ facility: string; visits: string; p50: number; p90: number }>`
      select facility, count(*)::text as visits,
             percentile_cont(0.5) within group (order by dwell_min) as p50, percentile_cont(0.9) within group (order by dwell_min) as p90
      from analytics.fct_stop_visits where tenant_id = ${h.acme.id} and dwell_min is not null group by facility order by facility`.execute(h.database.db);
    expect(rows.map((r) => r.facility)).toEqual(marts.dwell.map((r) => r.facility));
    for (const [i, row] of rows.entries()) {
      expect(Number(row.visits)).toBe(marts.dwell[i]!.visits);
      close(row.p50, marts.dwell[i]!.dwell_p50_min);
      close(row.p90, marts.dwell[i]!.dwell_p90_min);
    }
    const visits = await sql<{ n: string }>`select count(*)::text as n from analytics.fct_stop_visits`.execute(h.database.db);
    expect(Number(visits.rows[0]!.n)).toBe(trips.reduce((n, t) => n + t.arrivals.length, 0));
  }, 180_000);

  it('npm run analytics: exports into the data folder, builds and prints the headline figures', async () => {
    const dataDir = join(dir, 'cli-data');
    const { stdout, stderr } = await promisify(execFile)('node_modules/.bin/tsx', ['scripts/analytics.ts', '--tenant', h.acme.id], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: h.database.url, RETRACK_DATA_DIR: dataDir },
    });
    const arrivals = trips.filter((t) => t.tenant.id === h.acme.id).flatMap((t) => t.arrivals);
    const share = ((arrivals.filter((a) => a.onTime).length / arrivals.length) * 100).toFixed(1);
    expect(stdout).toContain(`On time: ${share}% of ${arrivals.length} stop visits with a window`);
    for (const facility of new Set(arrivals.map((a) => a.facility))) expect(stdout).toMatch(new RegExp(`\\n  ${facility}: [\\d.]+ min / [\\d.]+ min over \\d+ visits`));
    expect(stdout).toMatch(/ETA mean absolute error by horizon \(model \/ baseline\):\n(  .*\n)*  (30 min|1 h|2 h|4 h): [\d.]+ min \/ [\d.]+ min/);
    expect(stderr).toContain('dbt build passed');
    expect(existsSync(join(dataDir, 'exports', 'positions', `tenant_id=${h.acme.id}`))).toBe(true);
  }, 180_000);

  it('generates the docs', async () => {
    const result = await runDbt(['docs', 'generate'], run);
    expect(result.code, result.output).toBe(0);
    expect(existsSync(join(run.workDir, 'target', 'catalog.json'))).toBe(true);
    expect(existsSync(join(run.workDir, 'target', 'index.html'))).toBe(true);
  }, 120_000);
});
