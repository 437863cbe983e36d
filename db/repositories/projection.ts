// The shipment projection (shipments + stops rows) and the timeline (shipment_events), as
// written by the shipment workflow's activities. Every write is idempotent: events by their
// deterministic key, rows by the workflow's monotonic projection version.
import { sql, type Kysely } from 'kysely';
import type { ShipmentProgress } from '../../domain/timeline.js';
import type { Anomaly, Milestone } from '../../domain/types.js';
import type { Database } from '../schema.js';
import { appendToFeed } from './event-feed.js';

export interface ProjectionWriteResult {
  /** False when the rows already hold this version or a newer one (a retry or a late write). */
  applied: boolean;
  eventsInserted: number;
  /** The version the shipments row holds after the write; undefined when the row does not exist. */
  projectionVersion?: number;
}

export async function applyShipmentProgress(db: Kysely<Database>, progress: ShipmentProgress): Promise<ProjectionWriteResult> {
  return db.transaction().execute(async (trx) => {
    let inserted: { id: string; shipment_id: string; type: string }[] = [];
    if (progress.events.length > 0) {
      inserted = await trx
        .insertInto('shipment_events')
        .values(
          progress.events.map((event) => ({
            tenant_id: progress.tenantId,
            shipment_id: progress.shipmentId,
            event_key: event.key,
            type: event.type,
            occurred_at: event.occurredAt,
            stop_sequence: event.stopSequence ?? null,
            data: event.data,
            actor: event.actor ?? null,
          })),
        )
        .onConflict((oc) => oc.columns(['shipment_id', 'event_key']).doNothing())
        .returning(['id', 'shipment_id', 'type'])
        .execute();
    }
    const eventsInserted = inserted.length;

    const updated = await trx
      .updateTable('shipments')
      .set({
        status: progress.status,
        projection_version: progress.version,
        updated_at: progress.updatedAt,
        ...(progress.lastPosition ? { last_position: progress.lastPosition } : {}),
        ...(progress.cancellation ? { cancellation: progress.cancellation } : {}),
        // pg would send a JS array as a Postgres array literal, not JSON.
        ...(progress.anomalies ? { anomalies: sql<Anomaly[]>`${JSON.stringify(progress.anomalies)}::jsonb` } : {}),
        ...(progress.openAnomalies ? { open_anomalies: progress.openAnomalies } : {}),
        ...(progress.milestones ? { milestones: sql<Milestone[]>`${JSON.stringify(progress.milestones)}::jsonb` } : {}),
        ...(progress.nextEta !== undefined ? { next_eta: progress.nextEta } : {}),
      })
      .where('id', '=', progress.shipmentId)
      .where('tenant_id', '=', progress.tenantId)
      .where('projection_version', '<', String(progress.version))
      .executeTakeFirst();
    const applied = Number(updated.numUpdatedRows) > 0;

    if (!applied) {
      const row = await trx.selectFrom('shipments').select('projection_version').where('id', '=', progress.shipmentId).executeTakeFirst();
      await appendToFeed(trx, progress.tenantId, inserted);
      return { applied, eventsInserted, ...(row ? { projectionVersion: Number(row.projection_version) } : {}) };
    }
    // Stops follow the shipments row: only a newer snapshot may overwrite them.
    for (const stop of progress.stops) {
      await trx
        .updateTable('stops')
        .set({ status: stop.status, arrived_at: stop.arrivedAt ?? null, departed_at: stop.departedAt ?? null, eta: stop.eta ?? null })
        .where('shipment_id', '=', progress.shipmentId)
        .where('sequence', '=', stop.sequence)
        .execute();
    }
    // Last: the tenant's feed head stays locked from here until commit.
    await appendToFeed(trx, progress.tenantId, inserted);
    return { applied, eventsInserted, projectionVersion: progress.version };
  });
}
