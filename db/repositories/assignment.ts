// A shipment's fleet assignment in the projection, written by the workflow's assignment Update
// through an activity, with its ASSIGNMENT_CHANGED timeline event, in one transaction.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { appendToFeed } from './event-feed.js';
import type { Assignment } from '../../domain/types.js';
import { missingFleetReferences, type FleetReference } from './fleet.js';

export interface AssignmentWrite {
  tenantId: string;
  shipmentId: string;
  assignment: Assignment;
  previous: Assignment;
  /** Deterministic per change (`ASSIGNMENT:<n>`): a retried write inserts the event once. */
  eventKey: string;
  occurredAt: string;
  actor?: string;
}

export type AssignmentWriteResult = { applied: true } | { applied: false; missing: FleetReference[] };

/**
 * Re-checks the fleet ids inside the transaction (locking them FOR SHARE, so a concurrent delete
 * waits and then sees this shipment using them), then writes the columns and the event.
 */
export async function applyAssignment(db: Kysely<Database>, write: AssignmentWrite): Promise<AssignmentWriteResult> {
  return db.transaction().execute(async (trx) => {
    const { carrierId, vehicleId, driverId, deviceId } = write.assignment;
    const references: FleetReference[] = [];
    if (carrierId) references.push({ field: 'carrierId', kind: 'carrier', id: carrierId });
    if (vehicleId) references.push({ field: 'vehicleId', kind: 'vehicle', id: vehicleId });
    if (driverId) references.push({ field: 'driverId', kind: 'driver', id: driverId });
    if (deviceId) references.push({ field: 'deviceId', kind: 'device', id: deviceId });
    const missing = await missingFleetReferences(trx, write.tenantId, references);
    if (missing.length > 0) return { applied: false, missing };

    await trx
      .updateTable('shipments')
      .set({ carrier_id: carrierId ?? null, vehicle_id: vehicleId ?? null, driver_id: driverId ?? null, device_id: deviceId ?? null })
      .where('id', '=', write.shipmentId)
      .where('tenant_id', '=', write.tenantId)
      .execute();
    const inserted = await trx
      .insertInto('shipment_events')
      .values({
        tenant_id: write.tenantId,
        shipment_id: write.shipmentId,
        event_key: write.eventKey,
        type: 'ASSIGNMENT_CHANGED',
        occurred_at: write.occurredAt,
        stop_sequence: null,
        data: { from: write.previous, to: write.assignment },
        actor: write.actor ?? null,
      })
      .onConflict((oc) => oc.columns(['shipment_id', 'event_key']).doNothing())
      .returning(['id', 'shipment_id', 'type'])
      .execute();
    await appendToFeed(trx, write.tenantId, inserted);
    return { applied: true };
  });
}
