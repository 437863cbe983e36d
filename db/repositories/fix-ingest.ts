// The ingest protocol between the API and a shipment's workflow, on the shipment's ingest row:
// - the API stores fixes under the row's lock, each with the next per-shipment sequence, and in
//   the same statement finds the shipment (the caller's own) and decides whether a wake-up is
//   needed (none is outstanding);
// - the workflow loads fixes after its last sequence under the same lock and records how far it
//   read, so a wake-up counts as outstanding exactly while stored fixes wait for a load;
// - a sweeper re-sends outstanding wake-ups that were never consumed (an API that died between
//   its commit and its signal, a workflow not started yet), with back-off; one whose signal the
//   API saw accepted (`wake_delivered_seq`) only after minutes: Temporal holds it, and a workflow
//   that is slow to read it (a backlog, a worker restarting) gains nothing from more signals.
// - fixes stored inside the workflow's calm zone (domain/shipment/calm-zone.ts) claim no wake-up:
//   the row notes since when fixes wait, and the edge claims and sends a deferred wake-up for
//   them a short while later (claimDeferredWakeups).
// Because sequences are handed out under the row lock, they commit in order: a load never skips a
// fix that commits later with a smaller sequence.
import { sql, type Kysely } from 'kysely';
import type { Database, NewPosition } from '../schema.js';
import type { CalmZone } from '../../domain/shipment/calm-zone.js';
import type { Fix } from '../../domain/types.js';
import { uuidOrNil } from './pagination.js';
import { retryOnPartitionAttach } from './position-partitions.js';
import { toFix } from './positions.js';

export interface StoredFixes {
  accepted: number;
  /** Set when the caller must wake the workflow: fixes up to here are stored. */
  wakeUpToSeq?: number;
  /** The fixes lay inside the calm zone: no wake-up now, a deferred one later. */
  deferred: boolean;
}

/** Whose fixes these are: the shipment of the tenant, and with a device key, the device that must be assigned to it. */
export interface FixOwner {
  tenantId: string;
  shipmentId: string;
  deviceKeyId?: string;
}

/** What a store found: no such shipment of the tenant, one the device key is not assigned to, or stored. */
export type StoreOutcome =
  | { shipment: 'missing' }
  | { shipment: 'not-assigned-to-device' }
  | (StoredFixes & { shipment: 'stored'; workflowId: string });

/** Metres per degree of latitude on turf's sphere: the calm check measures on a flat local map. */
const METRES_PER_DEGREE = 111_195;

/**
 * Whether every row lies inside the calm zone of the ingest row `zone`: within the disc and, when
 * the zone has a band, within its width of one of the path's segments. Measured on a flat map
 * around each fix (good to well under a percent at these distances, far inside the zone's margin).
 */
function insideCalmZone(rows: NewPosition[]) {
  const k = METRES_PER_DEGREE;
  return sql<boolean>`zone.calm_radius_m is not null and not exists (
    select 1 from unnest(${rows.map((row) => row.lat)}::float8[], ${rows.map((row) => row.lon)}::float8[]) as fix(lat, lon)
    where ${k} * sqrt(power(fix.lat - zone.calm_lat, 2) + power((fix.lon - zone.calm_lon) * cos(radians(zone.calm_lat)), 2)) > zone.calm_radius_m
      or (zone.calm_path is not null and not exists (
        select 1 from generate_series(1, cardinality(zone.calm_path) / 2 - 1) as segment(i),
          lateral (select (zone.calm_path[2 * i - 1] - fix.lon) * cos(radians(fix.lat)) * ${k} as ax, (zone.calm_path[2 * i] - fix.lat) * ${k} as ay,
                          (zone.calm_path[2 * i + 1] - fix.lon) * cos(radians(fix.lat)) * ${k} as bx, (zone.calm_path[2 * i + 2] - fix.lat) * ${k} as by) ends,
          lateral (select case when (bx - ax) ^ 2 + (by - ay) ^ 2 = 0 then 0
                               else greatest(0, least(1, -(ax * (bx - ax) + ay * (by - ay)) / ((bx - ax) ^ 2 + (by - ay) ^ 2))) end as t) nearest
        where sqrt((ax + t * (bx - ax)) ^ 2 + (ay + t * (by - ay)) ^ 2) <= zone.calm_path_width_m)))`;
}

/** Columns a fix fills; the owner's and the sequence come from the statement itself. */
type FixColumn = Exclude<keyof NewPosition, 'tenant_id' | 'shipment_id' | 'device_id' | 'seq' | 'id' | 'received_at'>;

/**
 * Stores one shipment's fixes in one statement, the shipment's own lookup included (one round
 * trip per upload, and the assignment checked in the snapshot the fixes are stored in, so a
 * device reassigned meanwhile cannot slip through): checks that the shipment is the tenant's
 * (and, for a device key, assigned to that device), reserves sequences, inserts what is new with
 * the shipment's device (repeats of a stored fix are skipped), and claims the wake-up when none is
 * outstanding, unless `mayDefer` and every fix lies inside the workflow's calm zone. Nothing is
 * stored for a shipment that is missing or not the device's. `rows` are built by fixToRow; their
 * owner columns are not read.
 */
export async function storeShipmentFixes(db: Kysely<Database>, owner: FixOwner, rows: NewPosition[], options: { mayDefer?: boolean } = {}): Promise<StoreOutcome> {
  const n = rows.length;
  if (n === 0) throw new Error('storeShipmentFixes: no fixes to store');
  const shipmentId = uuidOrNil(owner.shipmentId);
  const idle = sql<boolean>`shipment_ingest.wake_seq <= shipment_ingest.loaded_seq`;
  // A heuristic read outside the row lock: a zone that changes meanwhile only moves a wake-up in time.
  const calm = options.mayDefer ? sql<boolean>`coalesce((select ${insideCalmZone(rows)} from shipment_ingest zone where zone.shipment_id = ${shipmentId}), false)` : sql<boolean>`false`;
  const wake = sql<boolean>`(${idle} and not (select calm from calm))`;
  const fixColumns = Object.keys(rows[0]!).filter((column): column is FixColumn => !['tenant_id', 'shipment_id', 'device_id', 'seq'].includes(column));
  // Typed by the table's own row type: one parameter for the whole upload.
  const fixes = sql`rows from (jsonb_populate_recordset(null::positions, ${JSON.stringify(rows.map((row) => Object.fromEntries(fixColumns.map((column) => [column, row[column]]))))}::jsonb)) with ordinality as fix`;
  const statement = db
    .with('shipment', (qb) => qb.selectFrom('shipments').select(['id', 'tenant_id', 'workflow_id', 'device_id']).where('id', '=', shipmentId).where('tenant_id', '=', owner.tenantId))
    .with('allowed', (qb) => {
      const found = qb.selectFrom('shipment').selectAll();
      return owner.deviceKeyId === undefined ? found : found.where('device_id', '=', owner.deviceKeyId);
    })
    .with('calm', (qb) => qb.selectNoFrom(calm.as('calm')))
    .with('ingest', (qb) =>
      qb
        .insertInto('shipment_ingest')
        .columns(['shipment_id', 'tenant_id', 'stored_seq', 'wake_seq', 'wake_sent_at'])
        .expression((eb) => eb.selectFrom('allowed').select(['allowed.id', 'allowed.tenant_id', sql<number>`${n}::bigint`.as('stored_seq'), sql<number>`${n}::bigint`.as('wake_seq'), sql<Date>`now()`.as('wake_sent_at')]))
        .onConflict((oc) =>
          oc.column('shipment_id').doUpdateSet({
            stored_seq: sql`shipment_ingest.stored_seq + ${n}`,
            wake_seq: sql`case when ${wake} then shipment_ingest.stored_seq + ${n} else shipment_ingest.wake_seq end`,
            wake_sent_at: sql`case when ${wake} then now() else shipment_ingest.wake_sent_at end`,
            wake_attempts: sql`case when ${wake} then 0 else shipment_ingest.wake_attempts end`,
            deferred_since: sql`case when ${wake} then null when ${idle} then coalesce(shipment_ingest.deferred_since, now()) else shipment_ingest.deferred_since end`,
          }),
        )
        .returning([sql<string>`stored_seq - ${n}`.as('base'), 'stored_seq', 'wake_seq', 'deferred_since']),
    )
    .with('inserted', (qb) =>
      qb
        .insertInto('positions')
        .columns([...fixColumns, 'tenant_id', 'shipment_id', 'device_id', 'seq'])
        .expression(
          sql`select ${sql.join(fixColumns.map((column) => sql.ref(`fix.${column}`)))}, allowed.tenant_id, allowed.id, allowed.device_id, ingest.base + fix.ordinality
              from allowed cross join ingest cross join ${fixes}`,
        )
        .onConflict((oc) => oc.doNothing())
        .returning('id'),
    )
    .selectNoFrom([
      sql<string | null>`(select workflow_id from shipment)`.as('workflow_id'),
      sql<boolean>`exists (select 1 from allowed)`.as('allowed'),
      sql<string | null>`(select stored_seq from ingest)`.as('stored_seq'),
      sql<string | null>`(select wake_seq from ingest)`.as('wake_seq'),
      sql<Date | null>`(select deferred_since from ingest)`.as('deferred_since'),
      sql<string>`(select count(*) from inserted)`.as('accepted'),
    ]);
  const result = await retryOnPartitionAttach(() => statement.executeTakeFirstOrThrow());
  if (result.workflow_id === null) return { shipment: 'missing' };
  if (!result.allowed) return { shipment: 'not-assigned-to-device' };
  const stored = { shipment: 'stored' as const, workflowId: result.workflow_id, accepted: Number(result.accepted) };
  if (result.wake_seq === result.stored_seq) return { ...stored, wakeUpToSeq: Number(result.stored_seq), deferred: false };
  return { ...stored, deferred: result.deferred_since !== null };
}

export interface LoadedFixes {
  fixes: (Fix & { seq: number })[];
  /** Every fix up to this sequence has been read (gaps are repeats that were never stored). */
  upToSeq: number;
  /** More fixes are stored past `upToSeq`: load again. */
  more: boolean;
}

/**
 * Reads up to `limit` fixes after `afterSeq` (the workflow's mark; absent: the row's own, as after
 * the v1 handover) in sequence order, and records how far the workflow has read.
 */
export async function loadStoredFixes(db: Kysely<Database>, shipmentId: string, afterSeq: number | undefined, limit: number, calmZone?: CalmZone): Promise<LoadedFixes> {
  return db.transaction().execute(async (trx) => {
    const ingest = await trx.selectFrom('shipment_ingest').select(['stored_seq', 'loaded_seq']).where('shipment_id', '=', shipmentId).forUpdate().executeTakeFirst();
    if (!ingest) return { fixes: [], upToSeq: afterSeq ?? 0, more: false };
    const from = afterSeq ?? Number(ingest.loaded_seq);
    const rows = await trx
      .selectFrom('positions')
      .selectAll()
      .where('shipment_id', '=', shipmentId)
      .where('seq', '>', String(from))
      .orderBy('seq')
      .limit(limit + 1)
      .execute();
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    const upToSeq = more ? Number(kept.at(-1)!.seq) : Math.max(from, Number(ingest.stored_seq));
    await trx
      .updateTable('shipment_ingest')
      .set({
        loaded_seq: sql`greatest(loaded_seq, ${upToSeq})`,
        wake_attempts: sql`case when wake_seq <= ${upToSeq} then 0 else wake_attempts end`,
        deferred_since: sql`case when stored_seq <= ${upToSeq} then null else deferred_since end`,
        calm_lat: calmZone?.lat ?? null,
        calm_lon: calmZone?.lon ?? null,
        calm_radius_m: calmZone?.radiusM ?? null,
        calm_path: calmZone?.corridor ? calmZone.corridor.path.flat() : null,
        calm_path_width_m: calmZone?.corridor?.widthM ?? null,
      })
      .where('shipment_id', '=', shipmentId)
      .execute();
    return { fixes: kept.map((row) => ({ ...toFix(row), seq: Number(row.seq) })), upToSeq, more };
  });
}

/**
 * The last `limit` fixes stored for the shipment that its workflow has not read yet, in storing
 * order, newest first (by sequence: the index's order; a device may upload its fixes out of order).
 */
export async function unreadFixes(db: Kysely<Database>, shipmentId: string, limit: number): Promise<Fix[]> {
  const rows = await db
    .selectFrom('positions')
    .selectAll()
    .where('shipment_id', '=', shipmentId)
    .where('seq', '>', (eb) => eb.selectFrom('shipment_ingest').select('loaded_seq').where('shipment_id', '=', shipmentId))
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toFix);
}

/**
 * Every stored fix after fix time `after` (absent: all) that the workflow has loaded (sequence up
 * to `maxSeq`, or stored before sequences existed), in time order: what a re-evaluation re-runs.
 * At most `limit`; `truncated` when there were more.
 */
export async function readStoredFixesAfter(db: Kysely<Database>, shipmentId: string, after: string | undefined, maxSeq: number, limit: number): Promise<{ fixes: Fix[]; truncated: boolean }> {
  let query = db
    .selectFrom('positions')
    .selectAll()
    .where('shipment_id', '=', shipmentId)
    .where((eb) => eb.or([eb('seq', '<=', String(maxSeq)), eb('seq', 'is', null)]));
  if (after !== undefined) query = query.where('recorded_at', '>', new Date(after));
  const rows = await query.orderBy('recorded_at').limit(limit + 1).execute();
  return { fixes: rows.slice(0, limit).map(toFix), truncated: rows.length > limit };
}

export interface OutstandingWakeup {
  shipmentId: string;
  tenantId: string;
  workflowId: string;
  upToSeq: number;
}

export interface ResendAfter {
  /** A wake-up not known to be delivered: this long after the first send, then twice as long after each re-send (at most a minute). */
  firstResendMs?: number;
  /** A wake-up Temporal accepted: only this long after the last send (a run reset by an operator may drop a signal). */
  deliveredResendMs?: number;
}

/** Wake-ups decided but not consumed for a while (ResendAfter), so a workflow that is down or behind is not flooded. */
export async function findOutstandingWakeups(db: Kysely<Database>, limit: number, { firstResendMs = 5_000, deliveredResendMs = 300_000 }: ResendAfter = {}): Promise<OutstandingWakeup[]> {
  const rows = await db
    .selectFrom('shipment_ingest as i')
    .innerJoin('shipments as s', 's.id', 'i.shipment_id')
    .select(['i.shipment_id', 'i.tenant_id', 's.workflow_id', 'i.wake_seq'])
    .where(sql<boolean>`i.wake_seq > i.loaded_seq`)
    .where(
      sql<boolean>`i.wake_sent_at <= now() - interval '1 millisecond' * case when i.wake_delivered_seq >= i.wake_seq then ${deliveredResendMs}
                                                                         else least(60000, ${firstResendMs} * power(2, i.wake_attempts)) end`,
    )
    .orderBy('i.wake_sent_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ shipmentId: r.shipment_id, tenantId: r.tenant_id, workflowId: r.workflow_id, upToSeq: Number(r.wake_seq) }));
}

/**
 * Claims a wake-up for every shipment whose fixes have waited in its calm zone since `deferMs`
 * ago or longer (and none is outstanding): the caller sends them, the sweeper re-sends any that fail.
 */
export async function claimDeferredWakeups(db: Kysely<Database>, limit: number, deferMs: number): Promise<OutstandingWakeup[]> {
  const due = db
    .selectFrom('shipment_ingest')
    .select('shipment_id')
    .where('deferred_since', '<=', sql<Date>`now() - interval '1 millisecond' * ${deferMs}`)
    .where(sql<boolean>`wake_seq <= loaded_seq`)
    .orderBy('deferred_since')
    .limit(limit)
    .forUpdate()
    .skipLocked();
  const rows = await db
    .updateTable('shipment_ingest as i')
    .from('shipments as s')
    .set({ wake_seq: sql`i.stored_seq`, wake_sent_at: sql`now()`, wake_attempts: 0, deferred_since: null })
    .whereRef('s.id', '=', 'i.shipment_id')
    .where('i.shipment_id', 'in', due)
    .returning(['i.shipment_id', 'i.tenant_id', 's.workflow_id', 'i.stored_seq'])
    .execute();
  return rows.map((r) => ({ shipmentId: r.shipment_id, tenantId: r.tenant_id, workflowId: r.workflow_id, upToSeq: Number(r.stored_seq) }));
}

export async function markWakeupResent(db: Kysely<Database>, shipmentId: string): Promise<void> {
  await db.updateTable('shipment_ingest').set({ wake_sent_at: sql`now()`, wake_attempts: sql`wake_attempts + 1` }).where('shipment_id', '=', shipmentId).execute();
}

/**
 * Temporal accepted these wake-ups (shipment id, sequence): one statement for a sweep's worth. The
 * rows are locked in id order, so two API processes recording overlapping sets cannot deadlock.
 */
export async function markWakeupsDelivered(db: Kysely<Database>, delivered: readonly [shipmentId: string, upToSeq: number][]): Promise<void> {
  if (delivered.length === 0) return;
  await sql`with d(id, seq) as (select * from unnest(${delivered.map(([id]) => id)}::uuid[], ${delivered.map(([, seq]) => seq)}::bigint[])),
            locked as (select shipment_id from shipment_ingest where shipment_id in (select id from d) order by shipment_id for update)
            update shipment_ingest i set wake_delivered_seq = greatest(i.wake_delivered_seq, d.seq)
            from d where i.shipment_id = d.id and i.shipment_id in (select shipment_id from locked)`.execute(db);
}

/** The workflow has completed: nothing will load these fixes, so no wake-up is outstanding. */
export async function closeIngest(db: Kysely<Database>, shipmentId: string): Promise<void> {
  await db.updateTable('shipment_ingest').set({ loaded_seq: sql`stored_seq`, wake_seq: sql`stored_seq`, deferred_since: null }).where('shipment_id', '=', shipmentId).execute();
}

/** Where a shipment's ingest stands (tests and diagnostics). */
export async function ingestMarks(db: Kysely<Database>, shipmentId: string): Promise<{ stored: number; loaded: number; wake: number } | undefined> {
  const row = await db.selectFrom('shipment_ingest').select(['stored_seq', 'loaded_seq', 'wake_seq']).where('shipment_id', '=', shipmentId).executeTakeFirst();
  return row && { stored: Number(row.stored_seq), loaded: Number(row.loaded_seq), wake: Number(row.wake_seq) };
}
