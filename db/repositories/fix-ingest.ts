// The ingest protocol between the API and a shipment's workflow, on the shipment's ingest row:
// - the API stores fixes under the row's lock, each with the next per-shipment sequence, and in
//   the same statement decides whether a wake-up is needed (none is outstanding);
// - the workflow loads fixes after its last sequence under the same lock and records how far it
//   read, so a wake-up counts as outstanding exactly while stored fixes wait for a load;
// - a sweeper re-sends outstanding wake-ups that were never consumed (an API that died between
//   its commit and its signal, a workflow not started yet), with back-off.
// Because sequences are handed out under the row lock, they commit in order: a load never skips a
// fix that commits later with a smaller sequence.
import { sql, type Kysely } from 'kysely';
import type { Database, NewPosition } from '../schema.js';
import type { Fix } from '../../domain/types.js';
import { toFix } from './positions.js';

export interface StoredFixes {
  accepted: number;
  /** Set when the caller must wake the workflow: fixes up to here are stored. */
  wakeUpToSeq?: number;
}

/**
 * Stores one shipment's fixes (rows of that shipment) in one statement: reserves sequences,
 * inserts what is new (repeats of a stored fix are skipped), and claims the wake-up when none is
 * outstanding.
 */
export async function storeShipmentFixes(db: Kysely<Database>, owner: { tenantId: string; shipmentId: string }, rows: NewPosition[]): Promise<StoredFixes> {
  if (rows.length === 0) return { accepted: 0 };
  const n = rows.length;
  const idle = sql<boolean>`shipment_ingest.wake_seq <= shipment_ingest.loaded_seq`;
  const result = await db
    .with('ingest', (qb) =>
      qb
        .insertInto('shipment_ingest')
        .values({ shipment_id: owner.shipmentId, tenant_id: owner.tenantId, stored_seq: n, wake_seq: n, wake_sent_at: sql`now()` })
        .onConflict((oc) =>
          oc.column('shipment_id').doUpdateSet({
            stored_seq: sql`shipment_ingest.stored_seq + ${n}`,
            wake_seq: sql`case when ${idle} then shipment_ingest.stored_seq + ${n} else shipment_ingest.wake_seq end`,
            wake_sent_at: sql`case when ${idle} then now() else shipment_ingest.wake_sent_at end`,
            wake_attempts: sql`case when ${idle} then 0 else shipment_ingest.wake_attempts end`,
          }),
        )
        .returning([sql<string>`stored_seq - ${n}`.as('base'), 'stored_seq', 'wake_seq']),
    )
    .with('inserted', (qb) =>
      qb
        .insertInto('positions')
        .values(rows.map((row, i) => ({ ...row, seq: sql<string>`(select base from ingest) + ${i + 1}` })))
        .onConflict((oc) => oc.doNothing())
        .returning('id'),
    )
    .selectFrom('ingest')
    .select(['stored_seq', 'wake_seq', sql<string>`(select count(*) from inserted)`.as('accepted')])
    .executeTakeFirstOrThrow();
  const accepted = Number(result.accepted);
  return { accepted, ...(result.wake_seq === result.stored_seq ? { wakeUpToSeq: Number(result.stored_seq) } : {}) };
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
export async function loadStoredFixes(db: Kysely<Database>, shipmentId: string, afterSeq: number | undefined, limit: number): Promise<LoadedFixes> {
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
      .set({ loaded_seq: sql`greatest(loaded_seq, ${upToSeq})`, wake_attempts: sql`case when wake_seq <= ${upToSeq} then 0 else wake_attempts end` })
      .where('shipment_id', '=', shipmentId)
      .execute();
    return { fixes: kept.map((row) => ({ ...toFix(row), seq: Number(row.seq) })), upToSeq, more };
  });
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

/**
 * Wake-ups decided but not consumed for a while: `firstResendMs` after the first send, then twice
 * as long after each re-send (at most a minute), so a workflow that is down is not flooded.
 */
export async function findOutstandingWakeups(db: Kysely<Database>, limit: number, firstResendMs = 5_000): Promise<OutstandingWakeup[]> {
  const rows = await db
    .selectFrom('shipment_ingest as i')
    .innerJoin('shipments as s', 's.id', 'i.shipment_id')
    .select(['i.shipment_id', 'i.tenant_id', 's.workflow_id', 'i.wake_seq'])
    .where(sql<boolean>`i.wake_seq > i.loaded_seq`)
    .where(sql<boolean>`i.wake_sent_at <= now() - least(interval '60 seconds', interval '1 millisecond' * ${firstResendMs} * power(2, i.wake_attempts))`)
    .orderBy('i.wake_sent_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ shipmentId: r.shipment_id, tenantId: r.tenant_id, workflowId: r.workflow_id, upToSeq: Number(r.wake_seq) }));
}

export async function markWakeupResent(db: Kysely<Database>, shipmentId: string): Promise<void> {
  await db.updateTable('shipment_ingest').set({ wake_sent_at: sql`now()`, wake_attempts: sql`wake_attempts + 1` }).where('shipment_id', '=', shipmentId).execute();
}

/** The workflow has completed: nothing will load these fixes, so no wake-up is outstanding. */
export async function closeIngest(db: Kysely<Database>, shipmentId: string): Promise<void> {
  await db.updateTable('shipment_ingest').set({ loaded_seq: sql`stored_seq`, wake_seq: sql`stored_seq` }).where('shipment_id', '=', shipmentId).execute();
}

/** Where a shipment's ingest stands (tests and diagnostics). */
export async function ingestMarks(db: Kysely<Database>, shipmentId: string): Promise<{ stored: number; loaded: number; wake: number } | undefined> {
  const row = await db.selectFrom('shipment_ingest').select(['stored_seq', 'loaded_seq', 'wake_seq']).where('shipment_id', '=', shipmentId).executeTakeFirst();
  return row && { stored: Number(row.stored_seq), loaded: Number(row.loaded_seq), wake: Number(row.wake_seq) };
}
