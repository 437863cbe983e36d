// Pushing fixes the way the API does: stored in Postgres with their sequence, then one wake-up
// signal when none is outstanding (api/fix-ingest.ts), so workflow tests run the real ingest path.
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { createFixIngest, temporalWakeup, type FixIngest, type IngestResult } from '../../api/fix-ingest.js';
import { fixToRow } from '../../db/repositories/positions.js';
import type { Database } from '../../db/schema.js';
import type { Fix, ShipmentPlan } from '../../domain/types.js';
import { createLogger } from '../../infra/logger.js';

export type PushFixes = (plan: Pick<ShipmentPlan, 'tenantId' | 'shipmentId' | 'deviceId'>, fixes: readonly Fix[]) => Promise<IngestResult>;

/** Stores through `ingest`, by default one of its own that logs nothing (no sweeper: a test sends each wake-up itself). */
export function fixPusher(
  db: Kysely<Database>,
  client: Client,
  ingest: FixIngest = createFixIngest({ db, wake: temporalWakeup(client), logger: createLogger({ name: 'test-ingest', level: 'silent' }) }),
): PushFixes {
  return (plan, fixes) =>
    ingest.store(
      { tenantId: plan.tenantId, shipmentId: plan.shipmentId },
      fixes.map((fix) => fixToRow(fix, { tenantId: plan.tenantId, shipmentId: plan.shipmentId, deviceId: plan.deviceId ?? null })),
    );
}
