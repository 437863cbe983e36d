// positions partitioned by month of fix time (migration 2026_12_02_0012,
// db/repositories/position-partitions.ts, worker/position-maintenance.ts), on real Postgres:
// the migration moves every row and back; ingest still stores a fix once whatever partition it
// lands in; a late fix for a month without a partition lands in the default one, is read back,
// and moves into its month when that is created; months ahead are created; retention drops only
// months that every tenant's export holds as they are now.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { issueApiKey } from '../../api/auth.js';
import { createFixIngest } from '../../api/fix-ingest.js';
import { migrateToLatest } from '../../db/migrate.js';
import { loadStoredFixes, storeShipmentFixes } from '../../db/repositories/fix-ingest.js';
import {
  addMonths,
  attachMonthPartition,
  dropExportedPartitions,
  ensurePositionPartitions,
  listPositionPartitions,
  monthOf,
  partitionName,
} from '../../db/repositories/position-partitions.js';
import { fixToRow, insertPositions, listPositions } from '../../db/repositories/positions.js';
import { insertShipment } from '../../db/repositories/shipments.js';
import { createTenant } from '../../db/repositories/tenants.js';
import type { Database } from '../../db/schema.js';
import { runExport } from '../../exports/export.js';
import { createLogger } from '../../infra/logger.js';
import { maintainPositionPartitions } from '../../worker/position-maintenance.js';
import { createTestDatabase, migrateTo, type TestDatabase } from '../support/db.js';

const BEFORE = '2026_12_02_0011_data_exports';
const PARTITIONED = '2026_12_02_0012_positions_partitions';
const silent = createLogger({ name: 'partitions-test', level: 'silent' });
const current = monthOf(new Date());
/** A time inside `month` (UTC), `hours` after its start. */
const inMonth = (month: string, hours = 0) => new Date(Date.parse(`${month}-01T00:00:00Z`) + hours * 3_600_000);

async function newShipment(db: Kysely<Database>, tenantId: string): Promise<string> {
  const id = randomUUID();
  await insertShipment(
    db,
    { id, tenant_id: tenantId, reference: `PP-${id}`, status: 'IN_TRANSIT', workflow_id: `shipment/${tenantId}/${id}`, request_hash: 'test', route: null, thresholds: {}, updated_at: new Date() },
    [{ shipment_id: id, tenant_id: tenantId, sequence: 1, type: 'delivery', name: 'Paris', lat: 48.84, lon: 2.29, geofence_radius_m: 500 }],
  );
  return id;
}

const fix = (at: Date, lat = 45.75) => ({ recordedAt: at.toISOString(), lat, lon: 4.85, speedKmh: 50 });
async function store(db: Kysely<Database>, tenantId: string, shipmentId: string, times: Date[], lat?: number) {
  const outcome = await storeShipmentFixes(db, { tenantId, shipmentId }, times.map((t) => fixToRow(fix(t, lat), { tenantId, shipmentId, deviceId: 'dev-1' })));
  if (outcome.shipment !== 'stored') throw new Error(`shipment ${shipmentId}: ${outcome.shipment}`);
  return outcome;
}

/** Which table holds each of the shipment's fixes, by fix time. */
async function whereStored(db: Kysely<Database>, shipmentId: string): Promise<Record<string, string>> {
  const { rows } = await sql<{ at: Date; part: string }>`select recorded_at as at, tableoid::regclass::text as part from positions where shipment_id = ${shipmentId} order by recorded_at`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.at.toISOString(), r.part]));
}

describe('migration 0012', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ upTo: BEFORE });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('moves every row into month partitions (outliers into the default) and back down', async () => {
    const { db } = database;
    const tenant = await createTenant(db, { name: 'Migrating Freight' });
    const shipmentId = await newShipment(db, tenant.id);
    const times = [inMonth(addMonths(current, -3), 5), inMonth(addMonths(current, -2), 7), inMonth(current, 1), new Date('2019-06-01T12:00:00Z')];
    // Plain inserts: the ingest statement of today's code needs columns of later migrations.
    const atSchema = (at: Date[]) => insertPositions(db, at.map((t) => fixToRow(fix(t), { tenantId: tenant.id, shipmentId, deviceId: 'dev-1' })));
    await atSchema(times);
    await insertPositions(db, [fixToRow(fix(new Date('1970-01-01T00:00:00Z')), { tenantId: tenant.id, shipmentId: null, deviceId: 'dev-9' })]);
    const snapshot = async () => (await sql`select * from positions order by id`.execute(db)).rows;
    const before = await snapshot();
    expect(before).toHaveLength(5);

    await migrateTo(db, PARTITIONED);
    const { rows: kind } = await sql<{ relkind: string }>`select relkind from pg_class where relname = 'positions'`.execute(db);
    expect(kind[0]!.relkind).toBe('p');
    expect(await snapshot()).toEqual(before);
    const partitions = await listPositionPartitions(db);
    expect(partitions.hasDefault).toBe(true);
    for (const m of [-3, -2, -1, 0, 1, 2, 3]) expect(partitions.months).toContain(addMonths(current, m));
    const stored = await whereStored(db, shipmentId);
    expect(stored[times[0]!.toISOString()]).toBe(partitionName(addMonths(current, -3)));
    expect(stored[times[2]!.toISOString()]).toBe(partitionName(current));
    expect(stored['2019-06-01T12:00:00.000Z']).toBe('positions_default');
    // Ids keep coming from the same sequence, past the moved rows.
    await atSchema([inMonth(current, 2)]);
    const { rows: newest } = await sql<{ id: string }>`select max(id)::text as id from positions`.execute(db);
    expect(BigInt(newest[0]!.id)).toBeGreaterThan(BigInt((before.at(-1) as { id: string }).id));

    await migrateTo(db, BEFORE);
    const { rows: plain } = await sql<{ relkind: string }>`select relkind from pg_class where relname = 'positions'`.execute(db);
    expect(plain[0]!.relkind).toBe('r');
    const after = await snapshot();
    expect(after.slice(0, 5)).toEqual(before);
    expect(after).toHaveLength(6);
    const { rows: indexes } = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'positions' order by 1`.execute(db);
    expect(indexes.map((r) => r.indexname)).toEqual([
      'positions_device_time_idx',
      'positions_pkey',
      'positions_shipment_fix_key',
      'positions_shipment_seq_key',
      'positions_tenant_time_idx',
      'positions_unrouted_fix_key',
    ]);
    const { rows: leftovers } = await sql<{ n: string }>`select count(*)::text as n from pg_class where relname ~ '^positions_p[0-9]{4}_[0-9]{2}$' or relname = 'positions_default'`.execute(db);
    expect(leftovers[0]!.n).toBe('0');

    await migrateToLatest(db);
    expect((await snapshot()).slice(0, 5)).toEqual(before);
  });

  it('drops views of the dbt postgres target that read positions (dbt build makes them again)', async () => {
    const { db } = database;
    await migrateTo(db, BEFORE);
    await sql`create schema if not exists analytics`.execute(db);
    await sql`create view analytics.stg_positions as select id, recorded_at from positions`.execute(db);
    await sql`create view analytics.on_top as select count(*) from analytics.stg_positions`.execute(db);
    await migrateToLatest(db);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from pg_views where schemaname = 'analytics'`.execute(db);
    expect(rows[0]!.n).toBe('0');
  });
});

describe('ingest on a partitioned positions table', () => {
  let database: TestDatabase;
  let tenantId: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    tenantId = (await createTenant(database.db, { name: 'Partitioned Freight' })).id;
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('stores a fix once, whichever partition it lands in (on conflict do nothing on the partial unique indexes)', async () => {
    const { db } = database;
    const shipmentId = await newShipment(db, tenantId);
    const times = [inMonth(addMonths(current, -1), 3), inMonth(current, 3), inMonth(addMonths(current, -10), 3)];
    expect((await store(db, tenantId, shipmentId, times)).accepted).toBe(3);
    // The same fixes again, and again with other values: nothing new (one month, the next, the default).
    expect((await store(db, tenantId, shipmentId, times)).accepted).toBe(0);
    expect((await store(db, tenantId, shipmentId, times, 46.1)).accepted).toBe(0);
    const stored = await whereStored(db, shipmentId);
    expect(Object.values(stored).sort()).toEqual([partitionName(addMonths(current, -1)), partitionName(current), 'positions_default'].sort());

    // A device's unrouted fixes: (tenant_id, device_id, recorded_at) dedups them likewise.
    const unrouted = times.map((t) => fixToRow(fix(t), { tenantId, shipmentId: null, deviceId: 'dev-unrouted' }));
    expect(await insertPositions(db, unrouted)).toBe(3);
    expect(await insertPositions(db, unrouted)).toBe(0);

    // Sequences stay one per stored fix (repeats leave gaps) and loads by sequence see each fix once.
    const { rows: seqs } = await sql<{ seq: string }>`select seq::text from positions where shipment_id = ${shipmentId} order by seq`.execute(db);
    expect(seqs.map((r) => Number(r.seq))).toEqual([1, 2, 3]);
    const loaded = await loadStoredFixes(db, shipmentId, 0, 100);
    expect(loaded.fixes.map((f) => f.recordedAt)).toEqual(times.map((t) => t.toISOString()));
  });

  it('a late fix for a month without a partition lands in the default, is read back, and moves into its month when created', async () => {
    const { db } = database;
    const shipmentId = await newShipment(db, tenantId);
    const late = inMonth(addMonths(current, -6), 30);
    const month = monthOf(late);
    expect((await listPositionPartitions(db)).months).not.toContain(month);
    expect((await store(db, tenantId, shipmentId, [late, inMonth(current, 4)])).accepted).toBe(2);
    expect((await whereStored(db, shipmentId))[late.toISOString()]).toBe('positions_default');
    const read = await listPositions(db, tenantId, { shipmentId }, { limit: 10 });
    expect(read.items.map((r) => r.recorded_at.toISOString())).toEqual([late.toISOString(), inMonth(current, 4).toISOString()]);
    const idBefore = read.items[0]!.id;

    const result = await ensurePositionPartitions(db);
    expect(result.failed).toEqual([]);
    expect(result.created).toContainEqual({ month, movedRows: 1 });
    // The previous test's fixes of ten months ago (routed and unrouted) got their month too.
    expect(result.created).toContainEqual({ month: addMonths(current, -10), movedRows: 2 });
    expect((await whereStored(db, shipmentId))[late.toISOString()]).toBe(partitionName(month));
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from positions_default where recorded_at >= ${inMonth(month)} and recorded_at < ${inMonth(addMonths(month, 1))}`.execute(db);
    expect(rows[0]!.n).toBe('0');
    const again = await listPositions(db, tenantId, { shipmentId }, { limit: 10 });
    expect(again.items[0]!.id).toBe(idBefore);
    // Still stored once after the move.
    expect((await store(db, tenantId, shipmentId, [late])).accepted).toBe(0);
  });

  it('creates the months ahead (once), and the month boundaries are UTC', async () => {
    const { db } = database;
    const now = new Date(Date.parse(`${addMonths(current, 20)}-15T12:00:00Z`));
    const first = await ensurePositionPartitions(db, { now, monthsAhead: 2 });
    const future = monthOf(now);
    expect(first.created.map((c) => c.month)).toEqual(expect.arrayContaining([addMonths(future, -1), future, addMonths(future, 1), addMonths(future, 2)]));
    const second = await ensurePositionPartitions(db, { now, monthsAhead: 2 });
    expect(second.created).toEqual([]);

    const shipmentId = await newShipment(db, tenantId);
    const lastMs = new Date(inMonth(addMonths(future, 3)).getTime() - 1);
    const beyond = inMonth(addMonths(future, 3));
    await store(db, tenantId, shipmentId, [lastMs, beyond]);
    const stored = await whereStored(db, shipmentId);
    expect(stored[lastMs.toISOString()]).toBe(partitionName(addMonths(future, 2)));
    expect(stored[beyond.toISOString()]).toBe('positions_default');
  });

  it('attaches back a month left detached by an interrupted retention run', async () => {
    const { db } = database;
    const month = addMonths(current, -1);
    const shipmentId = await newShipment(db, tenantId);
    await store(db, tenantId, shipmentId, [inMonth(month, 10)]);
    await sql`alter table positions detach partition ${sql.table(partitionName(month))}`.execute(db);
    expect((await listPositionPartitions(db)).detached).toContain(month);
    expect(Object.keys(await whereStored(db, shipmentId))).toEqual([]);
    const result = await ensurePositionPartitions(db);
    expect(result.created.map((c) => c.month)).toContain(month);
    expect(Object.values(await whereStored(db, shipmentId))).toEqual([partitionName(month)]);
  });

  it('gives up within the lock timeout while a reader holds positions, and the next run succeeds', async () => {
    const { db } = database;
    const month = addMonths(current, -14);
    const shipmentId = await newShipment(db, tenantId);
    await store(db, tenantId, shipmentId, [inMonth(month, 1)]);
    const reader = await holdDefaultPartition(db);
    const blocked = await ensurePositionPartitions(db, { lockTimeoutMs: 200 });
    expect(blocked.failed.map((f) => f.month)).toEqual([month]);
    expect(blocked.failed[0]!.error).toMatch(/lock timeout/);
    await reader.release();
    const retried = await ensurePositionPartitions(db, { lockTimeoutMs: 200 });
    expect(retried.created).toEqual([{ month, movedRows: 1 }]);
  });

  it('a fix routed to the default while its month is being attached is stored in the new month', async () => {
    const { db } = database;
    const month = addMonths(current, -15);
    const shipmentId = await newShipment(db, tenantId);
    await store(db, tenantId, shipmentId, [inMonth(month, 1)]);
    // A reader holds the default partition: the attach queues for it, and both inserts (routed
    // to the default by the partitions as they are) queue behind the attach.
    const reader = await holdDefaultPartition(db);
    const attached = ensurePositionPartitions(db, { lockTimeoutMs: 30_000 });
    await waitForLockWaiters(db, 1);
    const routed = store(db, tenantId, shipmentId, [inMonth(month, 2)]);
    const unrouted = insertPositions(db, [fixToRow(fix(inMonth(month, 2)), { tenantId, shipmentId: null, deviceId: 'dev-attach-race' })]);
    await waitForLockWaiters(db, 3);
    await reader.release();
    expect((await attached).created).toEqual([{ month, movedRows: 1 }]);
    expect((await routed).accepted).toBe(1);
    expect(await unrouted).toBe(1);
    expect(Object.values(await whereStored(db, shipmentId))).toEqual([partitionName(month), partitionName(month)]);
  });
});

/** A reader holding the default partition (ACCESS SHARE) until released. */
async function holdDefaultPartition(db: Kysely<Database>): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const reader = db.transaction().execute(async (trx) => {
    await sql`select count(*) from positions_default`.execute(trx);
    locked();
    await held;
  });
  await isLocked;
  return {
    async release() {
      release();
      await reader;
    },
  };
}

/** Waits until at least `count` backends of this database wait for a lock. */
async function waitForLockWaiters(db: Kysely<Database>, count: number): Promise<void> {
  for (;;) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
    if (rows[0]!.n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('retention', () => {
  let database: TestDatabase;
  const out = mkdtempSync(join(tmpdir(), 'retrack-retention-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'retrack-retention-other-'));
  const old = addMonths(current, -8);
  const older = addMonths(current, -9);
  const tenants: { id: string; shipmentId: string }[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  const settings = { monthsAhead: 3, retentionMonths: 6 };
  const lastDay = (month: string) => new Date(inMonth(addMonths(month, 1)).getTime() - 86_400_000).toISOString().slice(0, 10);
  const exportMonth = (month: string, tenantId?: string, to = out) =>
    runExport({ db: database.db, out: to, format: 'parquet', from: `${month}-01`, to: lastDay(month), tables: ['positions'], ...(tenantId ? { tenantId } : {}) });

  beforeAll(async () => {
    database = await createTestDatabase();
    for (const name of ['Acme Retention', 'Globex Retention']) {
      const tenant = await createTenant(database.db, { name });
      tenants.push({ id: tenant.id, shipmentId: await newShipment(database.db, tenant.id) });
    }
    for (const t of tenants) await store(database.db, t.id, t.shipmentId, [inMonth(older, 30), inMonth(old, 30), inMonth(old, 60), inMonth(current, 1)]);
    // The old months' fixes landed in the default partition: their months are made now.
    const ensured = await ensurePositionPartitions(database.db);
    expect(ensured.created.map((c) => c.month).sort()).toEqual([older, old]);
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(out, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('does nothing without a retention setting', async () => {
    expect(await dropExportedPartitions(database.db, { retentionMonths: 0 })).toEqual({ dropped: [], kept: [], failed: [] });
  });

  it('keeps an old month until every tenant-day of it is exported, logging what is missing', async () => {
    await exportMonth(older);
    await exportMonth(old, tenants[0]!.id);
    lines.length = 0;
    const result = await maintainPositionPartitions(database.db, settings, logger);
    expect(result.skipped).toBe(false);
    if (result.skipped) return;
    expect(result.retention.cutoffMonth).toBe(addMonths(current, -6));
    expect(result.retention.dropped).toEqual([{ month: older, rows: 2 }]);
    expect(result.retention.kept).toEqual([{ month: old, rows: 4, unexportedDays: expect.any(Number), tenants: [tenants[1]!.id] }]);
    const months = await listPositionPartitions(database.db);
    expect(months.months).not.toContain(older);
    expect(months.months).toContain(old);
    expect(months.months).toContain(current);
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'positions partition dropped: past retention and exported', month: older, rows: 2 }));
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'positions partition past retention kept: not every tenant-day is exported as it is now', month: old, tenantIds: [tenants[1]!.id] }),
    );
    // Every other tenant's rows and the current month are untouched.
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from positions`.execute(database.db);
    expect(rows[0]!.n).toBe('6');
  });

  it('keeps a month whose exported day changed since (a late fix), drops it once exported again', async () => {
    const { db } = database;
    await exportMonth(old, tenants[1]!.id);
    // A late fix into an exported day of tenant 0: the export no longer holds that day as it is.
    await store(db, tenants[0]!.id, tenants[0]!.shipmentId, [inMonth(old, 31)]);
    const kept = await dropExportedPartitions(db, { retentionMonths: 6 });
    expect(kept.dropped).toEqual([]);
    expect(kept.kept).toEqual([{ month: old, rows: 5, unexportedDays: 1, tenants: [tenants[0]!.id] }]);

    // Exports elsewhere do not count when retention names its destination.
    await exportMonth(old, undefined, elsewhere);
    const named = await dropExportedPartitions(db, { retentionMonths: 6, destination: out });
    expect(named.kept.map((k) => k.month)).toEqual([old]);
    await exportMonth(old);
    const dropped = await dropExportedPartitions(db, { retentionMonths: 6, destination: out });
    expect(dropped.dropped).toEqual([{ month: old, rows: 5 }]);
    expect((await listPositionPartitions(db)).months).not.toContain(old);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from positions`.execute(db);
    expect(rows[0]!.n).toBe('2');
  });

  it('attaches a month back when it changed between the check and the detach', async () => {
    const { db } = database;
    const month = addMonths(current, -7);
    const t = tenants[1]!;
    await store(db, t.id, t.shipmentId, [inMonth(month, 5)]);
    await ensurePositionPartitions(db);
    await exportMonth(month);
    const result = await dropExportedPartitions(db, {
      retentionMonths: 6,
      // As if a fix had committed just after the first check.
      afterDetach: async (table) => {
        await sql`insert into ${sql.table(table)} (tenant_id, shipment_id, device_id, recorded_at, lat, lon, seq) values (${t.id}, ${t.shipmentId}, 'dev-1', ${inMonth(month, 6)}, 45, 4, 1000)`.execute(db);
      },
    });
    expect(result.dropped).toEqual([]);
    expect(result.kept).toEqual([{ month, rows: 2, unexportedDays: 1, tenants: [t.id] }]);
    expect((await listPositionPartitions(db)).months).toContain(month);
    expect(Object.values(await whereStored(db, t.shipmentId))).toContain(partitionName(month));
    await exportMonth(month);
    expect((await dropExportedPartitions(db, { retentionMonths: 6 })).dropped).toEqual([{ month, rows: 2 }]);
  });

  it('never drops a month inside the retention, exported or not', async () => {
    const recent = addMonths(current, -6);
    await attachMonthPartition(database.db, recent);
    const result = await dropExportedPartitions(database.db, { retentionMonths: 6 });
    expect(result.dropped).toEqual([]);
    expect((await listPositionPartitions(database.db)).months).toEqual(expect.arrayContaining([recent, addMonths(current, -1), current]));
  });

  it('the API refuses fixes older than the retention', async () => {
    const { db } = database;
    const tenant = tenants[0]!;
    const key = (await issueApiKey(db, { tenantId: tenant.id, role: 'dispatcher' })).apiKey;
    const ingest = createFixIngest({ db, wake: async () => 'delivered', logger: silent });
    const app = createApp({ db, temporal: new Client(), logger: silent, ingest, config: { positionsRetentionMonths: 6 } });
    const push = (at: Date) =>
      app.request(`/v1/shipments/${tenant.shipmentId}/positions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ positions: [fix(at)] }),
      });
    const tooOld = await push(new Date(inMonth(addMonths(current, -6)).getTime() - 1));
    expect(tooOld.status).toBe(400);
    expect((await tooOld.json()).errors).toEqual([{ field: 'positions[0].recordedAt', message: expect.stringMatching(/older than the positions retention \(6 months/) }]);
    expect((await push(inMonth(addMonths(current, -6), 2))).status).toBe(202);
  });
});
