// Export → Parquet (and NDJSON) → read back with DuckDB, on trips driven through the real system:
// every stored fix exactly once with its exact values and types, each row in the partition its
// tenant and date name; an incremental re-run writes nothing, new fixes rewrite only their
// partition, and a rewritten window holds no duplicate.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportBusyError, runExport, type ExportSummary } from '../../exports/export.js';
import { PROJECT_ROOT } from '../../infra/tools.js';
import { parseExportArgs } from '../../scripts/export.js';
import { runWorker, startHarness, type Harness } from '../api/harness.js';
import { runSimulatedFleet, type SimulatedTrip } from '../support/simulated-fleet.js';

let h: Harness;
let stopWorker: () => Promise<void>;
let trips: SimulatedTrip[];
let duck: DuckDBConnection;
let instance: DuckDBInstance;
const out = mkdtempSync(join(tmpdir(), 'retrack-export-'));
const today = new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const window = { from: daysAgo(5), to: today };

beforeAll(async () => {
  h = await startHarness();
  stopWorker = await runWorker(h);
  trips = await runSimulatedFleet(h);
  instance = await DuckDBInstance.create(':memory:');
  duck = await instance.connect();
  await duck.run("set TimeZone = 'UTC'");
}, 300_000);

afterAll(async () => {
  duck?.closeSync();
  instance?.closeSync();
  await stopWorker?.();
  await h?.close();
  rmSync(out, { recursive: true, force: true });
});

const exportTo = (dir: string, extra: Partial<Parameters<typeof runExport>[0]> = {}) =>
  runExport({ db: h.database.db, out: dir, format: 'parquet', ...window, ...extra });

async function rows(query: string): Promise<Record<string, any>[]> {
  return (await duck.runAndReadAll(query)).getRowObjectsJson() as Record<string, any>[];
}

const glob = (dir: string, table: string, ext = 'parquet') => `read_parquet('${dir}/${table}/**/*.${ext}', hive_partitioning = true)`;

/** Every file under the folder, relative to it. */
function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function storedFixes() {
  return h.database.db
    .selectFrom('positions')
    .select(['id', 'tenant_id', 'shipment_id', 'lat', 'lon', 'speed_kmh', 'accuracy_m'])
    .select((eb) => eb.fn<string>('to_char', [eb.ref('recorded_at'), eb.val('YYYY-MM-DD"T"HH24:MI:SS.US')]).as('recorded_at_text'))
    .orderBy('id')
    .execute();
}

describe('npm run export', () => {
  let first: ExportSummary;

  it('writes every stored fix exactly once, with its values and types, into its tenant and date partition', async () => {
    first = await exportTo(out);
    const stored = await storedFixes();
    expect(stored.length).toBe(trips.reduce((n, t) => n + t.fixes.length, 0));
    expect(first.tables.positions.rows).toBe(stored.length);

    const exported = await rows(`
      select id, tenant_id, date, shipment_id, lat, lon, speed_kmh, accuracy_m, strftime(recorded_at, '%Y-%m-%dT%H:%M:%S.%f') as recorded_at_text,
             filename, strftime(recorded_at, '%Y-%m-%d') as fix_date
      from read_parquet('${out}/positions/**/*.parquet', hive_partitioning = true, filename = true) order by id`);
    expect(exported.map((r) => [String(r.id), r.tenant_id, r.shipment_id, r.lat, r.lon, r.speed_kmh, r.accuracy_m, r.recorded_at_text])).toEqual(
      stored.map((r) => [r.id, r.tenant_id, r.shipment_id, r.lat, r.lon, r.speed_kmh, r.accuracy_m, r.recorded_at_text]),
    );
    for (const row of exported) {
      expect(row.date).toBe(row.fix_date);
      expect(relative(out, row.filename)).toMatch(new RegExp(`^positions/tenant_id=${row.tenant_id}/date=${row.date}/part-[^/]+\\.parquet$`));
    }
    // Two tenants, the trips' two days: one partition each, one part file each.
    const partitions = new Set(exported.map((r) => `${r.tenant_id}/${r.date}`));
    expect(partitions).toEqual(new Set(trips.map((t) => `${t.tenant.id}/${t.fixes[0]!.recordedAt.slice(0, 10)}`)));
    expect(files(join(out, 'positions')).length).toBe(partitions.size);

    const types = Object.fromEntries((await rows(`describe select * from ${glob(out, 'positions')}`)).map((r) => [r.column_name, r.column_type]));
    expect(types).toMatchObject({
      id: 'BIGINT',
      seq: 'BIGINT',
      recorded_at: 'TIMESTAMP WITH TIME ZONE',
      received_at: 'TIMESTAMP WITH TIME ZONE',
      lat: 'DOUBLE',
      satellites: 'INTEGER',
      ignition: 'BOOLEAN',
      shipment_id: 'VARCHAR',
      tenant_id: 'VARCHAR',
      date: 'DATE',
    });
  });

  it('exports one row per stop visit with dwell and on-time, the timeline, and each prediction with its error', async () => {
    const visits = await rows(`select * from ${glob(out, 'stop_visits')} order by shipment_id, stop_sequence`);
    const expected = trips.flatMap((t) => t.arrivals.map((a) => ({ shipment_id: t.shipmentId, stop_sequence: a.sequence, facility: a.facility, on_time: a.onTime, tenant_id: t.tenant.id, date: today })));
    expect(visits.map((v) => ({ shipment_id: v.shipment_id, stop_sequence: v.stop_sequence, facility: v.facility, on_time: v.on_time, tenant_id: v.tenant_id, date: v.date }))).toEqual(
      expected.sort((a, b) => a.shipment_id.localeCompare(b.shipment_id) || a.stop_sequence - b.stop_sequence),
    );
    for (const v of visits) {
      const trip = trips.find((t) => t.shipmentId === v.shipment_id)!;
      const arrival = trip.arrivals.find((a) => a.sequence === v.stop_sequence)!;
      expect(new Date(v.arrived_at).toISOString()).toBe(arrival.arrivedAt);
      expect(v.dwell_min).toBeCloseTo((Date.parse(arrival.departedAt) - Date.parse(arrival.arrivedAt)) / 60_000, 6);
      expect(v.shipment_status).toBe('DELIVERED');
    }

    const [events] = await rows(`select count(*)::int as n, count(distinct (shipment_id, event_key))::int as distinct_keys from ${glob(out, 'shipment_events')}`);
    const storedEvents = await h.database.db.selectFrom('shipment_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(events).toEqual({ n: Number(storedEvents.n), distinct_keys: Number(storedEvents.n) });
    const arrivedEvents = await rows(`select count(*)::int as n from ${glob(out, 'shipment_events')} where type = 'ARRIVED'`);
    expect(arrivedEvents[0]!.n).toBe(visits.length);

    const predictions = await rows(`select p.*, v.arrived_at as visit_arrival from ${glob(out, 'eta_predictions')} p
      join ${glob(out, 'stop_visits')} v using (shipment_id, stop_sequence)`);
    const storedPredictions = await h.database.db.selectFrom('eta_predictions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(predictions.length).toBe(Number(storedPredictions.n));
    expect(predictions.length).toBeGreaterThan(0);
    for (const p of predictions) {
      expect(p.actual_arrival).toBe(p.visit_arrival);
      expect(p.error_min).toBeCloseTo((Date.parse(p.predicted_arrival) - Date.parse(p.actual_arrival)) / 60_000, 6);
      expect(p.date).toBe(new Date(p.predicted_at).toISOString().slice(0, 10));
    }
  });

  it('writes nothing on an incremental re-run without changes', async () => {
    const before = files(out);
    const again = await exportTo(out);
    expect(Object.values(again.tables).map((t) => t.partitions)).toEqual([0, 0, 0, 0]);
    expect(again.files).toEqual([]);
    expect(files(out)).toEqual(before);
  });

  it('rewrites only the partition that received new fixes, each fix still once', async () => {
    const trip = trips[0]!;
    const day = trip.fixes[0]!.recordedAt.slice(0, 10);
    const deviceId = await h.createDevice(trip.tenant);
    const late = Array.from({ length: 5 }, (_, i) => ({ recordedAt: `${day}T23:0${i}:00.000Z`, lat: 45.7, lon: 4.8 }));
    const res = await h.call('POST', '/v1/positions', trip.tenant.keys.dispatcher, { deviceId, positions: late });
    expect(res.body).toMatchObject({ accepted: 5, unrouted: 5 });

    const before = files(out);
    const incremental = await exportTo(out);
    expect(incremental.tables.positions.partitions).toBe(1);
    expect(incremental.files).toHaveLength(1);
    expect(incremental.files[0]).toMatch(new RegExp(`^positions/tenant_id=${trip.tenant.id}/date=${day}/part-`));
    const after = files(out);
    expect(after.filter((f) => !before.includes(f))).toEqual(incremental.files);
    expect(before.filter((f) => !after.includes(f))).toHaveLength(1);

    const stored = await storedFixes();
    const [counts] = await rows(`select count(*)::int as n, count(distinct id)::int as ids from ${glob(out, 'positions')}`);
    expect(counts).toEqual({ n: stored.length, ids: stored.length });
    const unrouted = await rows(`select device_id from ${glob(out, 'positions')} where shipment_id is null`);
    expect(unrouted).toEqual(late.map(() => ({ device_id: deviceId })));
  });

  it("rewrites a shipment's stop visits when its carrier changes, though no timestamp moves", async () => {
    const trip = trips.find((t) => !t.plan.withCarrier)!;
    const carrier = await h.database.db
      .insertInto('carriers')
      .values({ id: randomUUID(), tenant_id: trip.tenant.id, name: 'Late Assigned Haulage', updated_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await h.database.db.updateTable('shipments').set({ carrier_id: carrier.id }).where('id', '=', trip.shipmentId).execute();
    const incremental = await exportTo(out);
    expect(Object.fromEntries(Object.entries(incremental.tables).map(([table, t]) => [table, t.partitions]))).toEqual({ positions: 0, shipment_events: 0, stop_visits: 1, eta_predictions: 0 });
    const visits = await rows(`select distinct carrier_id, carrier_name from ${glob(out, 'stop_visits')} where shipment_id = '${trip.shipmentId}'`);
    expect(visits).toEqual([{ carrier_id: carrier.id, carrier_name: 'Late Assigned Haulage' }]);
    expect((await exportTo(out)).files).toEqual([]);
  });

  it('replaces a re-exported window: every partition rewritten, no row twice', async () => {
    const before = files(out);
    const full = await exportTo(out, { full: true });
    const after = files(out);
    expect(after).toHaveLength(before.length);
    expect(after.filter((f) => before.includes(f))).toEqual([]);
    expect(full.files.sort()).toEqual(after);
    for (const table of ['positions', 'shipment_events', 'stop_visits', 'eta_predictions']) {
      const stored = await h.database.db
        .selectFrom(table === 'stop_visits' ? 'stops' : (table as 'positions'))
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow();
      const [exported] = await rows(`select count(*)::int as n from ${glob(out, table)}`);
      expect(exported!.n, table).toBe(Number(stored.n));
    }
  });

  it('refuses a second run into the same destination while one is writing', async () => {
    await h.database.db.connection().execute(async (conn) => {
      // What a running export holds: its destination's session lock.
      await sql`select pg_advisory_lock(hashtextextended(${`export:${out}:parquet`}, 0))`.execute(conn);
      try {
        await expect(exportTo(out)).rejects.toBeInstanceOf(ExportBusyError);
        expect((await exportTo(out, { format: 'ndjson', tables: ['stop_visits'], out: join(out, 'elsewhere') })).tables.stop_visits.partitions).toBeGreaterThan(0);
      } finally {
        await sql`select pg_advisory_unlock(hashtextextended(${`export:${out}:parquet`}, 0))`.execute(conn);
      }
    });
  });

  it("exports one tenant's partitions only, and NDJSON with the same rows", async () => {
    const dir = join(out, 'ndjson-globex');
    const globex = trips.find((t) => t.plan.tenant === 'globex')!;
    const summary = await exportTo(dir, { format: 'ndjson', tenantId: globex.tenant.id });
    expect(summary.tables.positions.rows).toBe(globex.fixes.length);
    expect(files(dir).every((f) => f.includes(`/tenant_id=${globex.tenant.id}/`) && f.endsWith('.ndjson'))).toBe(true);
    const lines = await rows(`select recorded_at::varchar as recorded_at, lat from read_json('${dir}/positions/**/*.ndjson', hive_partitioning = true,
      columns = {recorded_at: 'TIMESTAMPTZ', lat: 'DOUBLE'}) order by recorded_at`);
    expect(lines.map((l) => [new Date(l.recorded_at).toISOString(), l.lat])).toEqual(globex.fixes.map((f) => [f.recordedAt, f.lat]));
  });
});

describe('the export command line', () => {
  it('npm run export writes the window and prints what it wrote', async () => {
    const dir = join(out, 'cli');
    const { stdout } = await promisify(execFile)('node_modules/.bin/tsx', ['scripts/export.ts', '--from', window.from, '--to', window.to, '--out', dir, '--tables', 'positions,stop_visits'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: h.database.url },
    });
    const summary = JSON.parse(stdout);
    const stored = await storedFixes();
    expect(summary).toMatchObject({ destination: dir, format: 'parquet', tables: { positions: { rows: stored.length }, stop_visits: { rows: trips.reduce((n, t) => n + t.arrivals.length, 0) } } });
    expect(Object.keys(summary.tables)).toEqual(['positions', 'stop_visits']);
    expect(files(dir).length).toBe(summary.files);
  });

  it('takes a window of UTC dates, a tenant, a format and a folder, and names the bad argument', () => {
    expect(parseExportArgs(['--from', '2026-11-01', '--to', '2026-11-30', '--format', 'ndjson', '--out', '/tmp/x', '--full'], '/d')).toEqual({
      from: '2026-11-01',
      to: '2026-11-30',
      format: 'ndjson',
      out: '/tmp/x',
      full: true,
    });
    expect(parseExportArgs(['--from', '2026-11-01', '--to', '2026-11-01'], '/d')).toMatchObject({ format: 'parquet', out: '/d', full: false });
    expect(() => parseExportArgs(['--to', '2026-11-01'], '/d')).toThrow(/--from is required/);
    expect(() => parseExportArgs(['--from', '2026-02-30', '--to', '2026-03-01'], '/d')).toThrow(/--from must be a UTC date/);
    expect(() => parseExportArgs(['--from', '2026-03-02', '--to', '2026-03-01'], '/d')).toThrow(/--to must not be before --from/);
    expect(() => parseExportArgs(['--from', '2026-03-01', '--to', '2026-03-01', '--format', 'csv'], '/d')).toThrow(/--format/);
    expect(() => parseExportArgs(['--from', '2026-03-01', '--to', '2026-03-01', '--tenant', 'acme'], '/d')).toThrow(/--tenant/);
    expect(() => parseExportArgs(['--from', '2026-03-01', '--to', '2026-03-01', '--tables', 'positions,nope'], '/d')).toThrow(/unknown table "nope"/);
  });
});
