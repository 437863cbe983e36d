// The month partitions of `positions` (migration 2026_12_02_0012): one per UTC month of fix time,
// `positions_pYYYY_MM`, and `positions_default` for fixes whose month has none.
//
// - Ahead: `ensurePositionPartitions` creates the previous, the current and the next `monthsAhead`
//   months, so ingest never needs DDL and fixes (at most MAX_CLOCK_SKEW_SECONDS in the future)
//   always find their month.
// - On demand: a late fix for a month without a partition lands in the default partition (stored,
//   deduplicated and read back like any other). Postgres refuses to create a partition whose range
//   has rows in the default one, so the month is made as a plain table, the default's rows of that
//   month are moved into it and it is attached, in one transaction that holds the default partition
//   (fixes routed to the default wait for it; every other month is untouched: ATTACH takes only a
//   SHARE UPDATE EXCLUSIVE lock on `positions`). Months older than `oldestMonth` stay in the default
//   (a device clock in 1970 must not create a partition per bogus month).
// - Retention: `dropExportedPartitions` drops whole months older than the retention, only when the
//   positions export holds every tenant's every day of the month as Postgres has it now (an
//   `export_partitions` row with the same row count and a high-water mark at least the latest
//   `received_at`); otherwise the month is kept and reported. A month is detached first (so nothing
//   can be written into it), checked again, then dropped, or attached back if it changed meanwhile.
//
// Every DDL statement runs under a short lock_timeout: a long reader of `positions` makes the run
// fail and the next one retries, instead of queueing ingest behind a waiting lock.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.js';

/** A UTC month, 'YYYY-MM'. */
export type Month = string;

export const DEFAULT_PARTITION = 'positions_default';
export const DEFAULT_MONTHS_AHEAD = 3;
/** Without retention, months in the default partition older than this many months stay there. */
export const DEFAULT_ON_DEMAND_MONTHS_BACK = 24;
const DEFAULT_LOCK_TIMEOUT_MS = 2_000;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const PARTITION_NAME = /^positions_p(\d{4})_(\d{2})$/;

export function monthOf(date: Date): Month {
  return date.toISOString().slice(0, 7);
}

export function addMonths(month: Month, offset: number): Month {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const total = y * 12 + (m - 1) + offset;
  return `${String(Math.floor(total / 12)).padStart(4, '0')}-${String((total % 12) + 1).padStart(2, '0')}`;
}

export function partitionName(month: Month): string {
  if (!MONTH.test(month)) throw new Error(`not a month: ${month}`);
  return `positions_p${month.replace('-', '_')}`;
}

/** The start of the month as a Postgres timestamptz literal (UTC). */
const monthStart = (month: Month) => `${month}-01 00:00:00+00`;

/**
 * The first month retention keeps: with N months, the current month and the N before it. Fixes
 * recorded before its start are older than the retention (the API refuses them).
 */
export function retentionCutoffMonth(now: Date, retentionMonths: number): Month {
  return addMonths(monthOf(now), -retentionMonths);
}

export function retentionCutoff(now: Date, retentionMonths: number): Date {
  return new Date(`${retentionCutoffMonth(now, retentionMonths)}-01T00:00:00.000Z`);
}

export interface PositionPartitions {
  /** Months with an attached partition, oldest first. */
  months: Month[];
  hasDefault: boolean;
  /** Month tables that exist but are not attached (a retention run stopped between detach and drop). */
  detached: Month[];
}

export async function listPositionPartitions(db: Kysely<Database>): Promise<PositionPartitions> {
  const { rows } = await sql<{ name: string; attached: boolean; is_default: boolean }>`
    select c.relname as name, i.inhrelid is not null as attached, coalesce(pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', false) as is_default
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace and n.nspname = current_schema()
    left join pg_inherits i on i.inhrelid = c.oid and i.inhparent = 'positions'::regclass
    where c.relkind in ('r', 'p') and (c.relname like 'positions\\_p%' or i.inhrelid is not null)`.execute(db);
  const month = (name: string) => {
    const m = PARTITION_NAME.exec(name);
    return m ? `${m[1]}-${m[2]}` : undefined;
  };
  return {
    months: rows.filter((r) => r.attached && !r.is_default).flatMap((r) => month(r.name) ?? []).sort(),
    hasDefault: rows.some((r) => r.attached && r.is_default),
    detached: rows.filter((r) => !r.attached).flatMap((r) => month(r.name) ?? []).sort(),
  };
}

/** Months the default partition holds rows of, with their counts. */
export async function defaultPartitionMonths(db: Kysely<Database>): Promise<{ month: Month; rows: number }[]> {
  const { rows } = await sql<{ month: string; rows: string }>`
    select to_char(recorded_at at time zone 'UTC', 'YYYY-MM') as month, count(*)::text as rows
    from ${sql.table(DEFAULT_PARTITION)} group by 1 order by 1`.execute(db);
  return rows.map((r) => ({ month: r.month, rows: Number(r.rows) }));
}

/**
 * Runs an insert into positions again when it lost a race with `attachMonthPartition`: a statement
 * that routed a fix to the default partition just before that fix's month was attached waits for
 * the attach and then fails the default's new constraint (23514) with nothing written; run again,
 * it routes the fix to the new month. A few attempts, as each one can only lose to another attach.
 */
export async function retryOnPartitionAttach<T>(insert: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insert();
    } catch (error) {
      const { code, table } = (error ?? {}) as { code?: unknown; table?: unknown };
      if (attempt >= attempts || code !== '23514' || table !== DEFAULT_PARTITION) throw error;
    }
  }
}

async function withLockTimeout<T>(db: Kysely<Database>, lockTimeoutMs: number, run: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql.raw(`set local lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`).execute(trx);
    return run(trx);
  });
}

const COLUMNS = sql.raw(
  'id, tenant_id, shipment_id, device_id, recorded_at, received_at, lat, lon, speed_kmh, heading_deg, accuracy_m, temperature_c, ' +
    'altitude_m, satellites, hdop, ignition, battery_pct, battery_v, odometer_km, humidity_pct, door_open, event_code, attributes, seq',
);

/**
 * Makes `month` a partition of positions: creates its table (or takes the detached one that exists),
 * moves the default partition's rows of that month into it and attaches it, in one transaction.
 * Returns how many rows came out of the default partition.
 */
export async function attachMonthPartition(db: Kysely<Database>, month: Month, options: { existingTable?: boolean; lockTimeoutMs?: number } = {}): Promise<number> {
  const table = sql.table(partitionName(month));
  const from = monthStart(month);
  const to = monthStart(addMonths(month, 1));
  return withLockTimeout(db, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, async (trx) => {
    const { hasDefault } = await listPositionPartitions(trx);
    // Taken first: no fix of the month can reach the default between the move and the attach.
    if (hasDefault) await sql`lock table ${sql.table(DEFAULT_PARTITION)} in access exclusive mode`.execute(trx);
    if (!options.existingTable) await sql`create table ${table} (like positions including defaults)`.execute(trx);
    let moved = 0;
    if (hasDefault) {
      const range = sql`recorded_at >= ${from}::timestamptz and recorded_at < ${to}::timestamptz`;
      await sql`insert into ${table} (${COLUMNS}) select ${COLUMNS} from ${sql.table(DEFAULT_PARTITION)} where ${range}`.execute(trx);
      const deleted = await sql`delete from ${sql.table(DEFAULT_PARTITION)} where ${range}`.execute(trx);
      moved = Number(deleted.numAffectedRows ?? 0n);
    }
    await sql`alter table positions attach partition ${table} for values from (${sql.lit(from)}) to (${sql.lit(to)})`.execute(trx);
    return moved;
  });
}

export interface EnsureOptions {
  now?: Date;
  /** Months created ahead of the current one. */
  monthsAhead?: number;
  /** Months of the default partition older than this stay there; default: 24 months back. */
  oldestMonth?: Month;
  lockTimeoutMs?: number;
}

export interface EnsureResult {
  /** Months given a partition, with the rows moved into it from the default partition. */
  created: { month: Month; movedRows: number }[];
  /** Rows of the default partition left there (months older than `oldestMonth` or too far ahead). */
  leftInDefault: { month: Month; rows: number }[];
  /** Months whose partition could not be made now (a lock not granted in time, …): the next run retries. */
  failed: { month: Month; error: string }[];
}

/** Partitions for the previous, current and next `monthsAhead` months, and for months the default partition holds. */
export async function ensurePositionPartitions(db: Kysely<Database>, options: EnsureOptions = {}): Promise<EnsureResult> {
  const now = options.now ?? new Date();
  const current = monthOf(now);
  const ahead = addMonths(current, options.monthsAhead ?? DEFAULT_MONTHS_AHEAD);
  const oldest = options.oldestMonth ?? addMonths(current, -DEFAULT_ON_DEMAND_MONTHS_BACK);
  const partitions = await listPositionPartitions(db);
  const existing = new Set(partitions.months);
  const wanted = new Set<Month>();
  for (let m = addMonths(current, -1); m <= ahead; m = addMonths(m, 1)) wanted.add(m);
  // A retention run that stopped between detach and drop: attached back, the next run decides again.
  for (const m of partitions.detached) wanted.add(m);
  const result: EnsureResult = { created: [], leftInDefault: [], failed: [] };
  if (partitions.hasDefault) {
    for (const held of await defaultPartitionMonths(db)) {
      if (held.month >= oldest && held.month <= ahead) wanted.add(held.month);
      else result.leftInDefault.push(held);
    }
  }
  for (const month of [...wanted].sort()) {
    if (existing.has(month)) continue;
    try {
      const movedRows = await attachMonthPartition(db, month, { existingTable: partitions.detached.includes(month), ...(options.lockTimeoutMs ? { lockTimeoutMs: options.lockTimeoutMs } : {}) });
      result.created.push({ month, movedRows });
    } catch (error) {
      result.failed.push({ month, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return result;
}

export interface UnexportedDay {
  tenantId: string;
  date: string;
  rows: number;
}

/**
 * The tenant-days of a month table that no positions export holds as they are now (same row count,
 * high-water mark at least the latest received_at); only exports to `destination` count when given.
 */
export async function unexportedDays(db: Kysely<Database>, table: string, destination?: string): Promise<{ rows: number; unexported: UnexportedDay[] }> {
  const { rows } = await sql<{ tenant_id: string; date: string; rows: string; exported: boolean }>`
    with current_state as (
      select tenant_id, (recorded_at at time zone 'UTC')::date as date, count(*) as rows, max(received_at) as high_water
      from ${sql.table(table)} group by 1, 2)
    select c.tenant_id::text, c.date::text, c.rows::text,
      exists (
        select 1 from export_partitions e
        where e.table_name = 'positions' and e.tenant_id = c.tenant_id and e.date = c.date
          and e.rows = c.rows and e.high_water >= c.high_water
          ${destination !== undefined ? sql`and e.destination = ${destination}` : sql``}
      ) as exported
    from current_state c order by c.date, c.tenant_id`.execute(db);
  return {
    rows: rows.reduce((n, r) => n + Number(r.rows), 0),
    unexported: rows.filter((r) => !r.exported).map((r) => ({ tenantId: r.tenant_id, date: r.date, rows: Number(r.rows) })),
  };
}

export interface RetentionOptions {
  now?: Date;
  /** The current month and this many before it are kept; 0 keeps everything. */
  retentionMonths: number;
  /** Only exports written to this destination (the export's absolute output folder) count. */
  destination?: string;
  lockTimeoutMs?: number;
  /** Called between the detach and the final check (tests: a fix committed just before the detach). */
  afterDetach?: (table: string) => Promise<void>;
}

export interface RetentionResult {
  /** First month kept. */
  cutoffMonth?: Month;
  dropped: { month: Month; rows: number }[];
  /** Months past retention kept because part of them is not exported as it is now. */
  kept: { month: Month; rows: number; unexportedDays: number; tenants: string[] }[];
  failed: { month: Month; error: string }[];
}

/** Drops the month partitions older than the retention whose every tenant-day is exported. */
export async function dropExportedPartitions(db: Kysely<Database>, options: RetentionOptions): Promise<RetentionResult> {
  const result: RetentionResult = { dropped: [], kept: [], failed: [] };
  if (options.retentionMonths <= 0) return result;
  const cutoff = retentionCutoffMonth(options.now ?? new Date(), options.retentionMonths);
  result.cutoffMonth = cutoff;
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const { months } = await listPositionPartitions(db);
  for (const month of months.filter((m) => m < cutoff)) {
    const table = partitionName(month);
    const keep = (state: { rows: number; unexported: UnexportedDay[] }) =>
      result.kept.push({ month, rows: state.rows, unexportedDays: state.unexported.length, tenants: [...new Set(state.unexported.map((d) => d.tenantId))] });
    try {
      const before = await unexportedDays(db, table, options.destination);
      if (before.unexported.length > 0) {
        keep(before);
        continue;
      }
      // Detached, the month takes no more writes (a fix of it would go to the default partition),
      // so the check that follows is final.
      await withLockTimeout(db, lockTimeoutMs, (trx) => sql`alter table positions detach partition ${sql.table(table)}`.execute(trx));
      await options.afterDetach?.(table);
      const after = await unexportedDays(db, table, options.destination);
      if (after.unexported.length > 0) {
        await attachMonthPartition(db, month, { existingTable: true, lockTimeoutMs });
        keep(after);
        continue;
      }
      await sql`drop table ${sql.table(table)}`.execute(db);
      result.dropped.push({ month, rows: after.rows });
    } catch (error) {
      result.failed.push({ month, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return result;
}

/**
 * Runs `run` while holding the partition maintenance lock (a session advisory lock on one pinned
 * connection), so several workers never maintain at once; undefined when another holds it.
 */
export async function withPartitionMaintenanceLock<T>(db: Kysely<Database>, run: (db: Kysely<Database>) => Promise<T>): Promise<T | undefined> {
  return db.connection().execute(async (conn) => {
    const key = sql`hashtextextended('retrack:positions-partitions', 0)`;
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}) as locked`.execute(conn);
    if (!rows[0]?.locked) return undefined;
    try {
      return await run(conn);
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(conn);
    }
  });
}
