// The ETA history refresh's activities: which tenants have something to learn from, and one
// tenant's refresh (its most recently delivered shipments read page by page into the pure
// learner, the figures replaced in one transaction). Run by the scheduled workflow, never per prediction.
import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { readDeliveredShipments, replaceEtaHistory, tenantsWithDeliveredShipments, type DeliveredPageCursor } from '../db/repositories/eta-history.js';
import type { Database } from '../db/schema.js';
import { HistoryLearner } from '../domain/eta/index.js';
import type { Logger } from '../infra/logger.js';
import type { EtaHistoryRefreshResult } from '../workflows/eta-history-contract.js';

const PAGE_SHIPMENTS = 50;

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Called directly (tests, scripts): no activity context to heartbeat to.
  }
}

export function createEtaHistoryActivities({ db, logger }: { db: Kysely<Database>; logger: Logger }) {
  return {
    /** Tenants with delivered shipments, in id order, after a cursor. */
    async listEtaHistoryTenants(request: { afterTenantId?: string; limit: number }): Promise<string[]> {
      const all = await tenantsWithDeliveredShipments(db);
      return all.filter((id) => request.afterTenantId === undefined || id > request.afterTenantId).slice(0, request.limit);
    },

    /** Recomputes one tenant's figures from its `maxShipments` most recently delivered shipments. */
    async refreshEtaHistory(request: { tenantId: string; maxShipments: number }): Promise<EtaHistoryRefreshResult> {
      const started = Date.now();
      const learner = new HistoryLearner();
      let after: DeliveredPageCursor | undefined;
      let read = 0;
      while (read < request.maxShipments) {
        const page = await readDeliveredShipments(db, request.tenantId, { limit: Math.min(PAGE_SHIPMENTS, request.maxShipments - read), ...(after ? { after } : {}) });
        for (const shipment of page.shipments) learner.add(shipment);
        read += page.shipments.length;
        heartbeat({ read });
        if (!page.next) break;
        after = page.next;
      }
      const figures = learner.figures();
      const durationMs = Date.now() - started;
      await replaceEtaHistory(db, request.tenantId, figures, durationMs);
      const result = { tenantId: request.tenantId, shipments: figures.shipments, facilities: figures.facilities.length, corridorRows: figures.corridors.length, durationMs };
      logger.info(result, 'ETA history refreshed');
      return result;
    },
  };
}
