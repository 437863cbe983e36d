// The scheduled ETA history refresh: every tenant with delivered shipments gets its figures
// recomputed from Postgres by an activity, one tenant after the other, so a big tenant does not
// hold the others' slots and a failing one only keeps its previous figures. Bounded history:
// after `tenantsPerRun` tenants it continues as new from the last one.
import { continueAsNew, log, proxyActivities } from '@temporalio/workflow';
import type { ShipmentActivities } from '../activities/index.js';
import type { EtaHistoryRefreshInput, EtaHistoryRunResult } from './eta-history-contract.js';

const { listEtaHistoryTenants } = proxyActivities<ShipmentActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
const { refreshEtaHistory } = proxyActivities<ShipmentActivities>({
  // It reads up to maxShipments shipments with their fixes; it heartbeats after every page.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 3 },
});

const DEFAULT_TENANTS_PER_RUN = 200;

export async function etaHistoryRefreshWorkflow(input: EtaHistoryRefreshInput): Promise<EtaHistoryRunResult> {
  const tenantsPerRun = input.tenantsPerRun ?? DEFAULT_TENANTS_PER_RUN;
  const tenants = await listEtaHistoryTenants({ afterTenantId: input.afterTenantId, limit: tenantsPerRun });
  const result: EtaHistoryRunResult = { refreshed: [], failed: [] };
  for (const tenantId of tenants) {
    try {
      result.refreshed.push(await refreshEtaHistory({ tenantId, maxShipments: input.maxShipments }));
    } catch (error) {
      // Its previous figures stay in place; the next scheduled run tries again.
      result.failed.push(tenantId);
      log.warn('ETA history refresh failed for a tenant', { tenantId, error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (tenants.length === tenantsPerRun) {
    await continueAsNew<typeof etaHistoryRefreshWorkflow>({ ...input, afterTenantId: tenants.at(-1)! });
  }
  return result;
}
