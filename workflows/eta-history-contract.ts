// The ETA history refresh's public contract: its workflow type, the Temporal Schedule that starts
// it, and its input and result. The schedule is created (or brought up to date) by every worker at
// start (worker/eta-history-schedule.ts); the workflow refreshes every tenant's figures through
// activities, one tenant at a time, never per prediction.
import type * as etaHistoryWorkflows from './eta-history.js';

export const ETA_HISTORY_WORKFLOW_TYPE = 'etaHistoryRefreshWorkflow' satisfies keyof typeof etaHistoryWorkflows;
export const ETA_HISTORY_SCHEDULE_ID = 'eta-history-refresh';
/** Id of each run the schedule starts (Temporal appends the scheduled time). */
export const ETA_HISTORY_WORKFLOW_ID = 'eta-history-refresh';

export interface EtaHistoryRefreshInput {
  /** Most recently delivered shipments per tenant to learn from. */
  maxShipments: number;
  /** Tenants per run: beyond, the workflow continues as new after the last one done. */
  tenantsPerRun?: number;
  /** Continue-as-new cursor: tenants after this id. */
  afterTenantId?: string;
}

export interface EtaHistoryRefreshResult {
  tenantId: string;
  shipments: number;
  facilities: number;
  corridorRows: number;
  durationMs: number;
}

export interface EtaHistoryRunResult {
  refreshed: EtaHistoryRefreshResult[];
  /** Tenants whose refresh failed after its retries: their previous figures stay. */
  failed: string[];
}
