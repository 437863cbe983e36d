// One poller per API process feeds every open shipment stream: each tick reads the new changes of
// all watched shipments in one query per source (db/repositories/shipment-changes.ts), hands each
// stream what lies past its own cursor, and now and then re-checks each stream's credential so a
// revoked key or an ended session closes its streams. Open streams are bounded per key.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { readShipmentChanges, type ShipmentChange, type ShipmentChangeCursor } from '../db/repositories/shipment-changes.js';
import type { Logger } from '../infra/logger.js';

const CURSOR_PATTERN = /^(\d{1,19})\.(\d{1,19})\.(\d{1,19})$/;
const CHANGES_PER_TICK = 1_000;
const RECHECK_EVERY_MS = 2_000;

/** `Last-Event-ID` / `after`: the three high-water marks, `<position>.<event>.<eta>`. */
export function encodeStreamCursor(cursor: ShipmentChangeCursor): string {
  return `${cursor.position}.${cursor.event}.${cursor.eta}`;
}

export function parseStreamCursor(value: string): ShipmentChangeCursor | undefined {
  const match = CURSOR_PATTERN.exec(value.trim());
  return match ? { position: match[1]!, event: match[2]!, eta: match[3]! } : undefined;
}

const later = (a: string, b: string) => (BigInt(a) >= BigInt(b) ? a : b);
const minCursor = (a: ShipmentChangeCursor, b: ShipmentChangeCursor): ShipmentChangeCursor => ({
  position: BigInt(a.position) <= BigInt(b.position) ? a.position : b.position,
  event: BigInt(a.event) <= BigInt(b.event) ? a.event : b.event,
  eta: BigInt(a.eta) <= BigInt(b.eta) ? a.eta : b.eta,
});

/** The cursor once `change` has been seen. */
export function advance(cursor: ShipmentChangeCursor, change: ShipmentChange): ShipmentChangeCursor {
  const key = change.source === 'position' ? 'position' : change.source === 'event' ? 'event' : 'eta';
  return { ...cursor, [key]: later(cursor[key], change.id) };
}

function isPast(cursor: ShipmentChangeCursor, change: ShipmentChange): boolean {
  const mark = change.source === 'position' ? cursor.position : change.source === 'event' ? cursor.event : cursor.eta;
  return BigInt(change.id) > BigInt(mark);
}

/** A change with the stream's cursor once it has been seen (the SSE event id). */
export interface DeliveredChange {
  change: ShipmentChange;
  cursor: ShipmentChangeCursor;
}

export interface StreamSubscription {
  shipmentId: string;
  keyId: string;
  cursor: ShipmentChangeCursor;
  /** Delivers changes past the cursor, in order. */
  deliver(changes: DeliveredChange[]): Promise<void>;
  stillAuthorized(): Promise<boolean>;
  /** Ends the stream (credential gone or the hub closing). */
  end(reason: string): void;
}

export class TooManyStreamsError extends Error {}

export interface ShipmentStreamHub {
  /** Registers a stream; throws TooManyStreamsError past the per-key bound. Returns the unsubscribe. */
  subscribe(subscription: StreamSubscription): () => void;
  openStreams(): number;
  close(): void;
}

export function createShipmentStreamHub(options: { db: Kysely<Database>; logger: Logger; pollMs: number; maxStreamsPerKey: number }): ShipmentStreamHub {
  const { db, logger } = options;
  const subscriptions = new Set<StreamSubscription>();
  const perKey = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let lastRecheck = Date.now();

  async function recheck(): Promise<void> {
    await Promise.all(
      [...subscriptions].map(async (s) => {
        const valid = await s.stillAuthorized().catch(() => true);
        if (!valid) s.end('credential revoked or session ended');
      }),
    );
  }

  async function tick(): Promise<void> {
    if (ticking || subscriptions.size === 0) return;
    ticking = true;
    try {
      if (Date.now() - lastRecheck >= RECHECK_EVERY_MS) {
        lastRecheck = Date.now();
        await recheck();
      }
      const from = new Map<string, ShipmentChangeCursor>();
      for (const s of subscriptions) from.set(s.shipmentId, from.has(s.shipmentId) ? minCursor(from.get(s.shipmentId)!, s.cursor) : s.cursor);
      const changes = await readShipmentChanges(db, from, CHANGES_PER_TICK);
      await Promise.all(
        [...subscriptions].map(async (s) => {
          const batch: DeliveredChange[] = [];
          let cursor = s.cursor;
          for (const change of changes.get(s.shipmentId) ?? []) {
            if (!isPast(cursor, change)) continue;
            cursor = advance(cursor, change);
            batch.push({ change, cursor });
          }
          if (batch.length === 0) return;
          s.cursor = cursor;
          await s.deliver(batch).catch((error: unknown) => s.end(error instanceof Error ? error.message : 'write failed'));
        }),
      );
    } catch (error) {
      logger.warn({ err: error, streams: subscriptions.size }, 'shipment stream poll failed; retrying on the next tick');
    } finally {
      ticking = false;
    }
  }

  function stopTimerWhenIdle(): void {
    if (subscriptions.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    subscribe(subscription) {
      const open = perKey.get(subscription.keyId) ?? 0;
      if (open >= options.maxStreamsPerKey) throw new TooManyStreamsError(`at most ${options.maxStreamsPerKey} open streams per API key`);
      perKey.set(subscription.keyId, open + 1);
      subscriptions.add(subscription);
      timer ??= setInterval(() => void tick(), options.pollMs);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        subscriptions.delete(subscription);
        const left = (perKey.get(subscription.keyId) ?? 1) - 1;
        if (left > 0) perKey.set(subscription.keyId, left);
        else perKey.delete(subscription.keyId);
        stopTimerWhenIdle();
      };
    },
    openStreams: () => subscriptions.size,
    close() {
      for (const s of [...subscriptions]) s.end('server shutting down');
      subscriptions.clear();
      perKey.clear();
      stopTimerWhenIdle();
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
