// Bytes per stored fix, in Postgres and in the Parquet export: `--shipments` trips of `--fixes`
// fixes each (30 s apart, position, speed, heading and accuracy, as a tracker sends them) stored
// through the ingest path (storeShipmentFixes, batches of 50 as devices upload them) in a fresh
// database, then the positions table's heap and index sizes after VACUUM, and the Parquet files of
// `runExport` for the same rows (positions is partitioned by month: sizes are summed over its
// partitions). Prints the figures and what a year of a fleet costs; saves JSON
// only with --out.
//
//   npx tsx bench/storage.ts [--shipments 40] [--fixes 2500] [--out bench/results]
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { storeShipmentFixes } from '../db/repositories/fix-ingest.js';
import { fixToRow } from '../db/repositories/positions.js';
import { insertShipment } from '../db/repositories/shipments.js';
import { createTenant } from '../db/repositories/tenants.js';
import { dropExportedPartitions, unexportedDays } from '../db/repositories/position-partitions.js';
import { runExport } from '../exports/export.js';
import { Rng } from '../simulator/random.js';
import { withBenchDatabase } from './support.js';

const { values } = parseArgs({
  options: {
    shipments: { type: 'string', default: '40' },
    fixes: { type: 'string', default: '2500' },
    out: { type: 'string' },
    'admin-url': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const SHIPMENTS = Number(values.shipments);
const FIXES = Number(values.fixes);
const START_MS = Date.parse('2026-11-02T06:00:00.000Z');

function folderBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
}

await withBenchDatabase(values['admin-url'], async (db) => {
  const tenant = await createTenant(db, { name: 'Storage Freight' });
  let storeMs = 0;
  for (let s = 0; s < SHIPMENTS; s++) {
    const id = randomUUID();
    await insertShipment(
      db,
      { id, tenant_id: tenant.id, reference: `ST-${s}`, status: 'IN_TRANSIT', workflow_id: `shipment/${tenant.id}/${id}`, request_hash: 'bench', route: null, thresholds: {}, updated_at: new Date() },
      [{ shipment_id: id, tenant_id: tenant.id, sequence: 1, type: 'delivery', name: 'Far away', lat: 49, lon: 2, geofence_radius_m: 500 }],
    );
    // GPS noise as trackers report it (seeded: every run stores the same fixes), so the columnar
    // encodings get no easier data than real traces.
    const rng = new Rng(`storage/${s}`);
    const noise = () => rng.next();
    const fixes = Array.from({ length: FIXES }, (_, i) => ({
      recordedAt: new Date(START_MS + s * 3_600_000 + i * 30_000 + Math.round(noise() * 2_000)).toISOString(),
      lat: 45.75 + i * 0.0021 + (noise() - 0.5) * 2e-4,
      lon: 4.85 + Math.cos(i / 50) * 0.01 + (noise() - 0.5) * 2e-4,
      speedKmh: Math.round((55 + noise() * 40) * 10) / 10,
      headingDeg: Math.round(noise() * 3600) / 10,
      accuracyM: 3 + Math.round(noise() * 12),
    }));
    for (let i = 0; i < fixes.length; i += 50) {
      const rows = fixes.slice(i, i + 50).map((f) => fixToRow(f, { tenantId: tenant.id, shipmentId: id, deviceId: 'dev-1' }));
      const started = performance.now();
      await storeShipmentFixes(db, { tenantId: tenant.id, shipmentId: id }, rows);
      storeMs += performance.now() - started;
    }
  }
  await sql`vacuum analyze positions`.execute(db);
  // positions is partitioned by month (migration 2026_12_02_0012): its sizes are the sums over
  // its partitions (the partitioned parent and its indexes hold nothing themselves).
  const { rows } = await sql<{ fixes: string; heap: string; indexes: string; total: string }>`
    select (select count(*) from positions)::text as fixes, sum(pg_table_size(relid))::text as heap, sum(pg_indexes_size(relid))::text as indexes,
           sum(pg_total_relation_size(relid))::text as total from pg_partition_tree('positions') where isleaf`.execute(db);
  const { rows: indexRows } = await sql<{ name: string; bytes: string }>`
    select i.indexrelid::regclass::text as name, (select sum(pg_relation_size(t.relid)) from pg_partition_tree(i.indexrelid) t)::bigint::text as bytes
    from pg_index i where i.indrelid = 'positions'::regclass order by 2::bigint desc`.execute(db);
  const { rows: partitionRows } = await sql<{ name: string; fixes: string }>`
    select tableoid::regclass::text as name, count(*)::text as fixes from positions group by 1 order by 1`.execute(db);

  const dir = mkdtempSync(join(tmpdir(), 'retrack-storage-'));
  try {
    await runExport({ db, out: dir, format: 'parquet', from: '2026-11-01', to: '2026-12-31', tables: ['positions'] });
    // Retention's work on the exported month (all the fixes are in November 2026): the export
    // coverage check, then the drop as if the month were past a 1-month retention.
    const coverageCheckMs: number[] = [];
    let coverage = { rows: 0, unexported: [{}] };
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      coverage = await unexportedDays(db, 'positions_p2026_11');
      coverageCheckMs.push(Math.round(performance.now() - started));
    }
    const sizes = { heap: Number(rows[0]!.heap), indexes: Number(rows[0]!.indexes), total: Number(rows[0]!.total) };
    const started = performance.now();
    const retention = await dropExportedPartitions(db, { now: new Date('2027-01-15T00:00:00Z'), retentionMonths: 1 });
    const dropMs = performance.now() - started;
    if (coverage.unexported.length > 0 || retention.dropped[0]?.month !== '2026-11') throw new Error(`retention did not drop the exported month: ${JSON.stringify(retention)}`);
    const fixes = Number(rows[0]!.fixes);
    const perFix = (bytes: number) => Math.round((bytes / fixes) * 10) / 10;
    const parquetBytes = folderBytes(dir);
    const totalPerFix = sizes.total / fixes;
    // A fleet of 1,000 trucks reporting every 30 s, 10 hours a day, 250 days a year.
    const fleetFixesPerYear = 1_000 * 2 * 60 * 10 * 250;
    const result = {
      fixes,
      postgres: {
        heapBytesPerFix: perFix(sizes.heap),
        indexBytesPerFix: perFix(sizes.indexes),
        totalBytesPerFix: perFix(sizes.total),
        indexes: Object.fromEntries(indexRows.map((r) => [r.name, perFix(Number(r.bytes))])),
        partitions: Object.fromEntries(partitionRows.map((r) => [r.name, Number(r.fixes)])),
      },
      parquetBytesPerFix: perFix(parquetBytes),
      fixesPerTiB: Math.round(2 ** 40 / totalPerFix),
      fleetExample: { trucks: 1_000, fixesPerYear: fleetFixesPerYear, postgresGiBPerYear: Math.round((fleetFixesPerYear * totalPerFix) / 2 ** 30), parquetGiBPerYear: Math.round((fleetFixesPerYear * (parquetBytes / fixes)) / 2 ** 30) },
      // One connection, one batch of 50 at a time, as the ingest path stores them.
      store: { ms: Math.round(storeMs), fixesPerSecond: Math.round(fixes / (storeMs / 1000)) },
      retention: { coverageCheckMs, dropMs: Math.round(dropMs), dropped: retention.dropped },
      loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
      at: new Date().toISOString(),
    };
    console.log(`storage: ${fixes} fixes (${SHIPMENTS} shipments × ${FIXES})`);
    console.log(`  Postgres: ${result.postgres.totalBytesPerFix} B per fix (heap ${result.postgres.heapBytesPerFix}, indexes ${result.postgres.indexBytesPerFix}: ${JSON.stringify(result.postgres.indexes)})`);
    console.log(`  Parquet export: ${result.parquetBytesPerFix} B per fix`);
    console.log(`  stored at ${result.store.fixesPerSecond} fixes/s (one connection, batches of 50); retention: export check of the month ${result.retention.coverageCheckMs.join(' / ')} ms, drop ${result.retention.dropMs} ms (load average ${result.loadAverage.join(' ')})`);
    console.log(`  one TiB of Postgres holds ${(result.fixesPerTiB / 1e9).toFixed(2)} billion fixes; 1,000 trucks at 30 s, 10 h a day, 250 days: ${(fleetFixesPerYear / 1e6).toFixed(0)} million fixes, ${result.fleetExample.postgresGiBPerYear} GiB in Postgres, ${result.fleetExample.parquetGiBPerYear} GiB as Parquet`);
    if (values.out) {
      mkdirSync(values.out, { recursive: true });
      const file = join(values.out, `storage-${result.at.replace(/[:.]/g, '-')}.json`);
      writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
      console.log(`  saved ${file}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
