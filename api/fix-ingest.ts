// The ingest edge: stores a shipment's fixes (db/repositories/fix-ingest.ts) and wakes its
// workflow with a tiny signal when no wake-up is outstanding, so a burst of requests for one
// shipment costs one signal. A 202 means stored: a wake-up that cannot be sent now (Temporal down,
// an API that dies after its commit) stays outstanding and the sweeper sends it; one Temporal
// accepted is recorded as delivered (in one statement per sweep), so the sweeper leaves it to the
// workflow instead of adding signals to a backlog. Fixes inside the
// workflow's calm zone wake nothing at once: a deferred delivery wakes it `deferMs` later, for
// every fix stored meanwhile (one signal per truck per window instead of one per fix).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database, NewPosition } from '../db/schema.js';
import { claimDeferredWakeups, closeIngest, findOutstandingWakeups, markWakeupResent, markWakeupsDelivered, storeShipmentFixes, type FixOwner, type OutstandingWakeup } from '../db/repositories/fix-ingest.js';
import type { Logger } from '../infra/logger.js';
import { startPeriodic, type PeriodicJob } from '../infra/periodic.js';
import { fixesStoredSignal } from '../workflows/contract.js';
import { notFound, ProblemError } from './problem.js';

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

/** Where a wake-up goes. */
export interface IngestTarget {
  tenantId: string;
  shipmentId: string;
  workflowId: string;
}

export interface IngestResult {
  workflowId: string;
  accepted: number;
  duplicates: number;
  shipmentClosed: boolean;
  /** Stored inside the calm zone: the workflow reads them within the deferral window. */
  deferred: boolean;
}

export interface SweepResult {
  outstanding: number;
  delivered: number;
  failed: number;
}

export interface FixIngest {
  /**
   * Stores the shipment's fixes (rows built by fixToRow) and wakes its workflow if it must; a
   * shipment that is not the tenant's is a 404, one not assigned to the device key a 403.
   */
  store(owner: FixOwner, rows: NewPosition[]): Promise<IngestResult>;
  /** Re-sends wake-ups that were decided but never consumed. */
  sweep(): Promise<SweepResult>;
  /** Wakes the workflows whose calm-zone fixes have waited `deferMs` (no-op when deferral is off). */
  deliverDeferred(): Promise<SweepResult>;
}

export interface FixIngestOptions {
  db: Kysely<Database>;
  wake: WakeupDelivery;
  logger: Logger;
  sweepLimit?: number;
  /** How long a wake-up may stay unconsumed before the sweeper sends it again (then with back-off). */
  resendAfterMs?: number;
  /** The same for a wake-up Temporal accepted (it holds the signal: only a reset run can lose it). */
  deliveredResendAfterMs?: number;
  /** How long fixes inside the calm zone may wait for their wake-up; 0 wakes on every fix. */
  deferMs?: number;
  /** Deferred wake-ups sent at once (each is one signal round trip). */
  deliveryConcurrency?: number;
}

/** Delivered wake-ups waiting for the next sweep to record them; beyond this many they go unrecorded (a re-send is harmless). */
const MAX_UNRECORDED_DELIVERIES = 100_000;

export function createFixIngest({ db, wake, logger, sweepLimit = 500, resendAfterMs = 5_000, deliveredResendAfterMs = 300_000, deferMs = 0, deliveryConcurrency = 32 }: FixIngestOptions): FixIngest {
  /** Shipment id → highest sequence whose wake-up Temporal accepted since the last sweep. */
  const delivered = new Map<string, number>();

  /** 'closed' closes the ingest row; any failure leaves the wake-up outstanding for the sweeper. */
  async function send(target: IngestTarget, upToSeq: number): Promise<WakeupOutcome | 'failed'> {
    try {
      const outcome = await wake(target.workflowId, upToSeq);
      if (outcome === 'closed') await closeIngest(db, target.shipmentId);
      else if (delivered.has(target.shipmentId) || delivered.size < MAX_UNRECORDED_DELIVERIES) delivered.set(target.shipmentId, Math.max(upToSeq, delivered.get(target.shipmentId) ?? 0));
      return outcome;
    } catch (error) {
      logger.warn({ err: error, tenantId: target.tenantId, shipmentId: target.shipmentId, workflowId: target.workflowId, upToSeq }, 'wake-up not sent; the sweeper will retry');
      return 'failed';
    }
  }

  return {
    async store(owner, rows) {
      const stored = await storeShipmentFixes(db, owner, rows, { mayDefer: deferMs > 0 });
      if (stored.shipment === 'missing') throw notFound('Shipment not found.');
      if (stored.shipment === 'not-assigned-to-device') throw new ProblemError('forbidden', 403, 'This device key is not assigned to the shipment.');
      const target = { tenantId: owner.tenantId, shipmentId: owner.shipmentId, workflowId: stored.workflowId };
      const outcome = stored.wakeUpToSeq === undefined ? undefined : await send(target, stored.wakeUpToSeq);
      return { workflowId: stored.workflowId, accepted: stored.accepted, duplicates: rows.length - stored.accepted, shipmentClosed: outcome === 'closed', deferred: stored.deferred };
    },

    async sweep() {
      // Recorded first, so this sweep already leaves them alone; a record lost to a failure only costs a re-send.
      const recorded = [...delivered];
      delivered.clear();
      await markWakeupsDelivered(db, recorded);
      const outstanding = await findOutstandingWakeups(db, sweepLimit, { firstResendMs: resendAfterMs, deliveredResendMs: deliveredResendAfterMs });
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

    async deliverDeferred() {
      const result: SweepResult = { outstanding: 0, delivered: 0, failed: 0 };
      if (deferMs <= 0) return result;
      for (let claimed: OutstandingWakeup[]; (claimed = await claimDeferredWakeups(db, sweepLimit, deferMs)).length > 0; ) {
        result.outstanding += claimed.length;
        for (let i = 0; i < claimed.length; i += deliveryConcurrency) {
          const outcomes = await Promise.all(claimed.slice(i, i + deliveryConcurrency).map((wakeup) => send(wakeup, wakeup.upToSeq)));
          for (const outcome of outcomes) result[outcome === 'failed' ? 'failed' : 'delivered'] += 1;
        }
        if (claimed.length < sweepLimit) break;
      }
      return result;
    },
  };
}

/** Runs `ingest.sweep()` every `intervalMs` (never two at once) until stopped. */
export function startWakeupSweeper(ingest: FixIngest, options: { intervalMs: number; logger: Logger }): PeriodicJob {
  return startPeriodic(() => ingest.sweep(), { ...options, name: 'wake-up sweep' });
}

/** Runs `ingest.deliverDeferred()` every `intervalMs` until stopped: a deferred fix waits at most deferMs plus this. */
export function startDeferredDelivery(ingest: FixIngest, options: { intervalMs: number; logger: Logger }): PeriodicJob {
  return startPeriodic(() => ingest.deliverDeferred(), { ...options, name: 'deferred wake-up delivery' });
}
