// The shipment workflow's two outputs that run beside its loop, never in its way: projection
// writes and ETA predictions. Each keeps at most one activity in flight; a write that fails is
// retried later with the newest snapshot, a prediction that fails keeps the previous ETA. So no
// activity failure, slow or permanent, can stop fixes from being decided or an Update from answering.
import { log, proxyLocalActivities } from '@temporalio/workflow';
import type { ShipmentActivities } from '../activities/index.js';
import type { EtaRequest, EtaResult } from '../activities/eta.js';
import type { ShipmentProgress, TimelineEvent } from '../domain/timeline.js';
import type { Fix } from '../domain/types.js';
import { PROJECTION_WRITE_REJECTED } from './contract.js';
import type { ProjectionState } from './shipment-state.js';

// Both run as local activities: their snapshots and requests stay out of history (only the
// result's marker is recorded) and they cost one event instead of an activity's three plus a
// workflow task. A few quick attempts inside the task, then the writer's own back-off takes over.
const { persistShipmentProgress } = proxyLocalActivities<ShipmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '4 seconds', maximumAttempts: 4, nonRetryableErrorTypes: [PROJECTION_WRITE_REJECTED] },
});

// An ETA is a nicety: two quick attempts, then the previous one stands.
const { predictShipmentEta } = proxyLocalActivities<ShipmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 2 },
});

const RETRY_FIRST_MS = 30_000;
const RETRY_MAX_MS = 5 * 60_000;

const messageOf = (error: unknown): string => {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const inner = cause instanceof Error ? cause.message : undefined;
  return inner ?? (error instanceof Error ? error.message : String(error));
};

export interface ProjectionWriter {
  /** Starts a write of the newest snapshot when something is pending and none is in flight. */
  request(): void;
  /** Counts a change someone waits to see persisted (a write in flight may predate it, so another follows); `persisted(n)` tells when it is. */
  change(): number;
  persisted(change: number): boolean;
  readonly idle: boolean;
  /** Workflow time of the next retry after a failure (none while a write is in flight). */
  retryAtMs(): number | undefined;
}

export function createProjectionWriter(options: {
  state: () => ProjectionState;
  snapshot: (version: number, events: TimelineEvent[]) => ShipmentProgress;
  onFailureChanged: () => void;
}): ProjectionWriter {
  let inFlight = false;
  let changes = 0;
  let persistedChanges = 0;

  const pending = (p: ProjectionState) => p.dirty || p.outbox.length > 0;

  function request(): void {
    const projection = options.state();
    if (inFlight || !pending(projection)) return;
    if (projection.failure && Date.parse(projection.failure.retryAt) > Date.now()) return;
    inFlight = true;
    const events = projection.outbox.slice();
    const upTo = changes;
    projection.dirty = false;
    // Workflow time, so versions keep rising even after the workflow is reset to an earlier point.
    projection.version = Math.max(projection.version + 1, Date.now());
    const progress = options.snapshot(projection.version, events);
    persistShipmentProgress(progress).then(
      () => {
        const current = options.state();
        current.outbox.splice(0, events.length);
        if (progress.lastPosition) current.lastPositionPersistedAt = progress.lastPosition.recordedAt;
        persistedChanges = Math.max(persistedChanges, upTo);
        if (current.failure) {
          log.info('projection writes recovered', { failingSince: current.failure.since, attempts: current.failure.attempts });
          delete current.failure;
          options.onFailureChanged();
        }
      },
      (error: unknown) => {
        const current = options.state();
        current.dirty = true;
        const attempts = (current.failure?.attempts ?? 0) + 1;
        const waitMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (attempts - 1));
        current.failure = { message: messageOf(error), since: current.failure?.since ?? new Date(Date.now()).toISOString(), attempts, retryAt: new Date(Date.now() + waitMs).toISOString() };
        log.error('projection write failed; the next one carries the newest snapshot', { attempts, retryInMs: waitMs, error: current.failure.message });
        options.onFailureChanged();
      },
    ).finally(() => {
      inFlight = false;
      request();
    });
  }

  return {
    request,
    change: () => {
      options.state().dirty = true;
      return ++changes;
    },
    persisted: (change) => persistedChanges >= change,
    get idle() {
      return !inFlight;
    },
    retryAtMs: () => {
      const failure = options.state().failure;
      return failure && !inFlight ? Date.parse(failure.retryAt) : undefined;
    },
  };
}

export interface EtaRequester {
  /** Asks for a prediction from this fix; while one runs, only the newest request waits. */
  request(from: Fix): void;
  readonly idle: boolean;
}

export function createEtaRequester(options: { build: (from: Fix) => EtaRequest; onResult: (result: EtaResult) => void }): EtaRequester {
  let inFlight = false;
  let next: Fix | undefined;

  function start(from: Fix): void {
    inFlight = true;
    predictShipmentEta(options.build(from))
      .then(options.onResult, (error: unknown) => log.warn('ETA prediction failed; keeping the previous one', { error: messageOf(error) }))
      .finally(() => {
        inFlight = false;
        const waiting = next;
        next = undefined;
        if (waiting) start(waiting);
      });
  }

  return {
    request(from) {
      if (inFlight) next = from;
      else start(from);
    },
    get idle() {
      return !inFlight && next === undefined;
    },
  };
}
