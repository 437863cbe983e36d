// The ingest edge: stores a shipment's fixes (db/repositories/fix-ingest.ts) and wakes its
// workflow with a tiny signal when no wake-up is outstanding, so a burst of requests for one
// shipment costs one signal. A 202 means stored: a wake-up that cannot be sent now (Temporal down,
// an API that dies after its commit) stays outstanding and the sweeper sends it.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database, NewPosition } from '../db/schema.js';
import { closeIngest, findOutstandingWakeups, markWakeupResent, storeShipmentFixes } from '../db/repositories/fix-ingest.js';
import type { Logger } from '../infra/logger.js';
import { startPeriodic, type PeriodicJob } from '../infra/periodic.js';
import { fixesStoredSignal } from '../workflows/contract.js';

export type WakeupOutcome = 'delivered' | 'closed';

/** Sends the wake-up; `closed` when the workflow has completed and will read nothing more. */
export type WakeupDelivery = (workflowId: string, upToSeq: number) => Promise<WakeupOutcome>;

export class WorkflowNotStartedError extends Error {
  constructor(readonly workflowId: string) {
    super(`workflow ${workflowId} has not been started`);
  }
}

export function temporalWakeup(client: Client, deadlineMs = 2_000): WakeupDelivery {
  return (workflowId, upToSeq) =>
    client.connection.withDeadline(Date.now() + deadlineMs, async () => {
      const handle = client.workflow.getHandle(workflowId);
      try {
        await handle.signal(fixesStoredSignal, { upToSeq });
        return 'delivered';
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
      // "Not found" means completed or never started (a crash between the shipment's insert and
      // its workflow start): only the first is final.
      try {
        await handle.describe();
        return 'closed';
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new WorkflowNotStartedError(workflowId);
        throw error;
      }
    });
}

export interface IngestTarget {
  tenantId: string;
  shipmentId: string;
  workflowId: string;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  shipmentClosed: boolean;
}

export interface SweepResult {
  outstanding: number;
  delivered: number;
  failed: number;
}

export interface FixIngest {
  /** Stores the shipment's fixes (rows built by fixToRow) and wakes its workflow if it must. */
  store(target: IngestTarget, rows: NewPosition[]): Promise<IngestResult>;
  /** Re-sends wake-ups that were decided but never consumed. */
  sweep(): Promise<SweepResult>;
}

export interface FixIngestOptions {
  db: Kysely<Database>;
  wake: WakeupDelivery;
  logger: Logger;
  sweepLimit?: number;
  /** How long a wake-up may stay unconsumed before the sweeper sends it again (then with back-off). */
  resendAfterMs?: number;
}

export function createFixIngest({ db, wake, logger, sweepLimit = 500, resendAfterMs = 5_000 }: FixIngestOptions): FixIngest {
  /** 'closed' closes the ingest row; any failure leaves the wake-up outstanding for the sweeper. */
  async function send(target: IngestTarget, upToSeq: number): Promise<WakeupOutcome | 'failed'> {
    try {
      const outcome = await wake(target.workflowId, upToSeq);
      if (outcome === 'closed') await closeIngest(db, target.shipmentId);
      return outcome;
    } catch (error) {
      logger.warn({ err: error, tenantId: target.tenantId, shipmentId: target.shipmentId, workflowId: target.workflowId, upToSeq }, 'wake-up not sent; the sweeper will retry');
      return 'failed';
    }
  }

  return {
    async store(target, rows) {
      const stored = await storeShipmentFixes(db, target, rows);
      const outcome = stored.wakeUpToSeq === undefined ? undefined : await send(target, stored.wakeUpToSeq);
      return { accepted: stored.accepted, duplicates: rows.length - stored.accepted, shipmentClosed: outcome === 'closed' };
    },

    async sweep() {
      const outstanding = await findOutstandingWakeups(db, sweepLimit, resendAfterMs);
      const result: SweepResult = { outstanding: outstanding.length, delivered: 0, failed: 0 };
      for (const wakeup of outstanding) {
        await markWakeupResent(db, wakeup.shipmentId);
        const outcome = await send(wakeup, wakeup.upToSeq);
        if (outcome === 'failed') result.failed += 1;
        else result.delivered += 1;
      }
      if (result.outstanding > 0) logger.info({ ...result }, 'sweeper re-sent outstanding wake-ups');
      return result;
    },
  };
}

/** Runs `ingest.sweep()` every `intervalMs` (never two at once) until stopped. */
export function startWakeupSweeper(ingest: FixIngest, options: { intervalMs: number; logger: Logger }): PeriodicJob {
  return startPeriodic(() => ingest.sweep(), { ...options, name: 'wake-up sweep' });
}
