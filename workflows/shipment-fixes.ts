// Reading the shipment's stored fixes and deciding them: what a wake-up sets off. Fixes come from
// Postgres through local activities (their result is in history, so replay decides the same), in
// reads of up to 500; a late fix re-runs the decisions from its checkpoint over the stored fixes.
// A failing read leaves the rest for a later try: timers and Updates carry on meanwhile.
import { log, proxyLocalActivities } from '@temporalio/workflow';
import type { ShipmentActivities } from '../activities/index.js';
import { decodeFixes } from '../domain/fix-codec.js';
import { toIso } from '../domain/fixes.js';
import { calmZone } from '../domain/shipment/calm-zone.js';
import { decideFixes, decideRerun, type Decision, type DecisionContext } from '../domain/shipment/decide.js';
import { MAX_REREAD_FIXES } from '../domain/shipment/reevaluation.js';
import type { Fix, ShipmentPlan } from '../domain/types.js';
import type { ShipmentState } from './shipment-state.js';

const { loadShipmentFixes, rereadShipmentFixes } = proxyLocalActivities<ShipmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', maximumAttempts: 5 },
});

const LOAD_LIMIT = 500;
/** After a failed load, the loop tries again this much later (Updates and timers carry on meanwhile). */
const LOAD_RETRY_MS = 15_000;

export interface FixReader {
  /** Decides a batch of fixes already in hand (queued by v1); late ones re-run from the store. */
  decideBatch(fixes: Fix[]): Promise<void>;
  /** Reads and decides every stored fix after the mark. */
  ingestStored(): Promise<void>;
  /** Workflow time of the next try after a failed read, if one failed. */
  retryAtMs(): number | undefined;
}

export function createFixReader({ state, plan, ctx, apply, fixNowMs }: { state: ShipmentState; plan: ShipmentPlan; ctx: DecisionContext; apply: (decision: Decision) => void; fixNowMs: () => number }): FixReader {
  let loadRetryAtMs: number | undefined;

  async function decideBatch(fixes: Fix[]): Promise<void> {
    const decision = decideFixes(state.decisions, fixes, ctx);
    apply(decision);
    if (!decision.rewindFrom) return;
    const from = decision.rewindFrom;
    const read = await rereadShipmentFixes({ tenantId: plan.tenantId, shipmentId: plan.shipmentId, after: from.at, maxSeq: state.ingest.loadedSeq ?? Number.MAX_SAFE_INTEGER, limit: MAX_REREAD_FIXES + LOAD_LIMIT });
    const stored = decodeFixes(read.fixes);
    const times = new Set(stored.map((fix) => fix.recordedAt));
    apply(decideRerun(state.decisions, from, [...stored, ...fixes.filter((fix) => !times.has(fix.recordedAt))], toIso(fixNowMs()), ctx));
    log.info('late fixes re-evaluated', { from: from.at ?? 'start', fixes: stored.length, truncated: read.truncated });
  }

  async function ingestStored(): Promise<void> {
    try {
      for (let more = true; more; ) {
        // The zone as decided so far: a fix stored inside it may wait (its place on the map is static, so a zone one read old is still right).
        const zone = calmZone(state.decisions.rules, ctx);
        const load = await loadShipmentFixes({ tenantId: plan.tenantId, shipmentId: plan.shipmentId, afterSeq: state.ingest.loadedSeq, limit: LOAD_LIMIT, ...(zone ? { calmZone: zone } : {}) });
        state.ingest.loadedSeq = load.upToSeq;
        more = load.more;
        const fixes = decodeFixes(load.fixes);
        if (fixes.length > 0) await decideBatch(fixes);
      }
      loadRetryAtMs = undefined;
    } catch (error) {
      loadRetryAtMs = Date.now() + LOAD_RETRY_MS;
      log.error('could not read stored fixes; trying again later', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  return { decideBatch, ingestStored, retryAtMs: () => loadRetryAtMs };
}
