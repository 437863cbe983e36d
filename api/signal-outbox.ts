// Exactly-once delivery of stored fixes to shipment workflows.
//
// Postgres `positions` is the durable record; `signalled_at` is the outbox mark. A flush locks a
// shipment's unsignalled fixes, signals them as one batch, then marks them, all in one transaction:
// a failed signal leaves them unsignalled for the client's retry or the sweeper, and a crash after
// the signal but before the commit re-sends fixes the workflow already ignores as duplicates.
//
// Signals are the scarce resource (DESIGN §5), so flushes coalesce: at most one runs per shipment
// in this process, and every request arriving meanwhile joins the single flush queued behind it.
import type { Kysely } from 'kysely';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Database } from '../db/schema.js';
import type { Fix } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import { fixesReceivedSignal } from '../workflows/contract.js';
import { findShipmentsWithStaleFixes, lockUnsignalled, markSignalled, toFix } from '../db/repositories/positions.js';

export type DeliveryOutcome = 'delivered' | 'closed';

/** Sends one batch of fixes to a workflow; `closed` when the workflow has completed and can take no more. */
export type FixDelivery = (workflowId: string, fixes: Fix[]) => Promise<DeliveryOutcome>;

export class WorkflowNotStartedError extends Error {
  constructor(readonly workflowId: string) {
    super(`workflow ${workflowId} has not been started`);
  }
}

export function temporalFixDelivery(client: Client): FixDelivery {
  return async (workflowId, fixes) => {
    const handle = client.workflow.getHandle(workflowId);
    try {
      await handle.signal(fixesReceivedSignal, { fixes });
      return 'delivered';
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    // "Not found" means either completed or never started (a crash between insert and start);
    // only the first is final; the second must stay in the outbox until the workflow exists.
    try {
      await handle.describe();
      return 'closed';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new WorkflowNotStartedError(workflowId);
      throw error;
    }
  };
}

export interface FlushTarget {
  shipmentId: string;
  workflowId: string;
}

export interface FlushResult {
  /** Fixes delivered (or, for a closed workflow, marked) by this flush. */
  fixes: number;
  signals: number;
  shipmentClosed: boolean;
}

export interface SweepResult {
  shipments: number;
  fixes: number;
  failed: number;
}

export interface SignalOutbox {
  /** Delivers every unsignalled fix of the shipment; joins the next flush when one is running. */
  flush(target: FlushTarget): Promise<FlushResult>;
  /** Flushes shipments whose fixes have waited longer than `staleAfterMs` (an API that died mid-request). */
  sweep(): Promise<SweepResult>;
  /** Resolves when no flush is running or queued. */
  idle(): Promise<void>;
}

export interface SignalOutboxOptions {
  db: Kysely<Database>;
  deliver: FixDelivery;
  logger: Logger;
  /** Most fixes in one signal (payloads stay far below Temporal's 2 MB limit). */
  batchSize?: number;
  staleAfterMs?: number;
  sweepLimit?: number;
}

interface Queued {
  promise: Promise<FlushResult>;
  start(): void;
}

interface Slot {
  running: Promise<FlushResult>;
  queued?: Queued;
}

export function createSignalOutbox(options: SignalOutboxOptions): SignalOutbox {
  const { db, deliver, logger } = options;
  const batchSize = options.batchSize ?? 1000;
  const staleAfterMs = options.staleAfterMs ?? 5_000;
  const sweepLimit = options.sweepLimit ?? 500;
  const slots = new Map<string, Slot>();

  async function deliverAll(target: FlushTarget): Promise<FlushResult> {
    const result: FlushResult = { fixes: 0, signals: 0, shipmentClosed: false };
    for (;;) {
      const sent = await db.transaction().execute(async (trx) => {
        const rows = await lockUnsignalled(trx, target.shipmentId, batchSize);
        if (rows.length === 0) return 0;
        const outcome = await deliver(target.workflowId, rows.map(toFix));
        if (outcome === 'closed') result.shipmentClosed = true;
        else result.signals += 1;
        await markSignalled(trx, rows.map((r) => r.id), new Date());
        return rows.length;
      });
      result.fixes += sent;
      if (sent < batchSize) return result;
    }
  }

  function run(target: FlushTarget): Promise<FlushResult> {
    const promise = deliverAll(target).finally(() => {
      const slot = slots.get(target.shipmentId)!;
      const next = slot.queued;
      if (next) {
        slot.queued = undefined;
        next.start();
      } else {
        slots.delete(target.shipmentId);
      }
    });
    const slot = slots.get(target.shipmentId);
    if (slot) slot.running = promise;
    else slots.set(target.shipmentId, { running: promise });
    return promise;
  }

  function flush(target: FlushTarget): Promise<FlushResult> {
    const slot = slots.get(target.shipmentId);
    if (!slot) return run(target);
    if (!slot.queued) {
      let start!: () => void;
      const promise = new Promise<FlushResult>((resolve, reject) => {
        start = () => run(target).then(resolve, reject);
      });
      slot.queued = { promise, start };
    }
    return slot.queued.promise;
  }

  async function sweep(): Promise<SweepResult> {
    const stale = await findShipmentsWithStaleFixes(db, new Date(Date.now() - staleAfterMs), sweepLimit);
    const result: SweepResult = { shipments: stale.length, fixes: 0, failed: 0 };
    for (const shipment of stale) {
      try {
        const flushed = await flush({ shipmentId: shipment.id, workflowId: shipment.workflow_id });
        result.fixes += flushed.fixes;
      } catch (error) {
        result.failed += 1;
        logger.warn({ err: error, tenantId: shipment.tenant_id, shipmentId: shipment.id, workflowId: shipment.workflow_id }, 'sweeper could not deliver fixes');
      }
    }
    if (result.fixes > 0) logger.info({ ...result }, 'sweeper delivered stranded fixes');
    return result;
  }

  async function idle(): Promise<void> {
    while (slots.size > 0) {
      await Promise.allSettled([...slots.values()].flatMap((s) => [s.running, ...(s.queued ? [s.queued.promise] : [])]));
    }
  }

  return { flush, sweep, idle };
}

/** Runs `outbox.sweep()` every `intervalMs` (never two at once) until stopped. */
export function startSignalSweeper(outbox: SignalOutbox, options: { intervalMs: number; logger: Logger }): { stop(): Promise<void> } {
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    current = outbox
      .sweep()
      .catch((error: unknown) => options.logger.error({ err: error }, 'signal sweep failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs).unref();
      });
  };
  timer = setTimeout(tick, options.intervalMs).unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
