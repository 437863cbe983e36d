// Activities of the shipment workflow: the only place its decisions touch I/O.
// Built by a factory so tests and the worker inject their own database and logger.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { applyShipmentProgress, type ProjectionWriteResult } from '../db/repositories/projection.js';
import { applyAssignment, type AssignmentWrite } from '../db/repositories/assignment.js';
import { loadStoredFixes, readStoredFixesAfter } from '../db/repositories/fix-ingest.js';
import { isPermanentWriteError, storable } from '../db/storable.js';
import { createEtaActivities, type EtaHistorySettings } from './eta.js';
import { createEtaHistoryActivities } from './eta-history.js';
import { createWebhookActivities, DEFAULT_WEBHOOK_ACTIVITY_SETTINGS, type WebhookActivitySettings } from './webhooks.js';
import { ASSIGNMENT_FAILURES, PROJECTION_WRITE_REJECTED, type FixLoad, type FixLoadRequest, type FixReread, type FixRereadRequest } from '../workflows/contract.js';
import type { Database } from '../db/schema.js';
import { encodeFixes } from '../domain/fix-codec.js';
import type { ShipmentProgress } from '../domain/timeline.js';
import type { Logger } from '../infra/logger.js';

export interface ActivityDependencies {
  db: Kysely<Database>;
  logger: Logger;
  /** Webhook delivery: SSRF policy, timeouts, feed polling; defaults when absent. */
  webhooks?: WebhookActivitySettings;
  /** When the ETA uses the learned figures (ETA_HISTORY_* settings); defaults when absent. */
  etaHistory?: EtaHistorySettings;
}

/** The activity's execution details when run by a worker; direct calls (tests, scripts) log without them. */
function executionFields(): Record<string, unknown> {
  try {
    const info = Context.current().info;
    return { workflowId: info.workflowExecution?.workflowId, runId: info.workflowExecution?.runId, activityId: info.activityId, attempt: info.attempt };
  } catch {
    return {};
  }
}

export function createActivities({ db, logger, webhooks = DEFAULT_WEBHOOK_ACTIVITY_SETTINGS, etaHistory }: ActivityDependencies) {
  return {
    ...createEtaActivities({ db, logger, ...(etaHistory ? { history: etaHistory } : {}) }),
    ...createEtaHistoryActivities({ db, logger }),
    ...createWebhookActivities({ db, logger, settings: webhooks }),

    /**
     * The shipment's fixes after the workflow's mark, compact (they land in its history), and how
     * far it has now read. A local activity: one database round trip, no task queue.
     */
    async loadShipmentFixes(request: FixLoadRequest): Promise<FixLoad> {
      const loaded = await loadStoredFixes(db, request.shipmentId, request.afterSeq, request.limit, request.calmZone);
      return { fixes: encodeFixes(loaded.fixes), upToSeq: loaded.upToSeq, more: loaded.more };
    },

    /** Every loaded fix after a fix time, in time order: what a re-evaluation re-runs. */
    async rereadShipmentFixes(request: FixRereadRequest): Promise<FixReread> {
      const read = await readStoredFixesAfter(db, request.shipmentId, request.after, request.maxSeq, request.limit);
      return { fixes: encodeFixes(read.fixes), truncated: read.truncated };
    },

    /**
     * Writes a projection snapshot and its timeline events; safe to retry and to run late.
     * Characters Postgres cannot store are replaced; a write it still refuses fails without retry.
     */
    async persistShipmentProgress(progress: ShipmentProgress): Promise<ProjectionWriteResult> {
      const log = logger.child({ tenantId: progress.tenantId, shipmentId: progress.shipmentId, ...executionFields() });
      let result: ProjectionWriteResult;
      try {
        result = await applyShipmentProgress(db, storable(progress));
      } catch (error) {
        if (!isPermanentWriteError(error)) throw error;
        log.error({ err: error, version: progress.version }, 'projection write refused by Postgres');
        throw ApplicationFailure.nonRetryable(`projection write refused: ${error instanceof Error ? error.message : String(error)}`, PROJECTION_WRITE_REJECTED);
      }
      if (result.projectionVersion === undefined) {
        log.warn({ version: progress.version }, 'shipment row missing: projection not updated');
      } else if (!result.applied) {
        log.info({ version: progress.version, current: result.projectionVersion, eventsInserted: result.eventsInserted }, 'projection already newer: snapshot skipped');
      } else {
        log.debug(
          { version: progress.version, status: progress.status, eventsInserted: result.eventsInserted, events: progress.events.map((e) => e.key) },
          'projection updated',
        );
      }
      return result;
    },

    /**
     * Writes a new fleet assignment (and its timeline event) to the projection before the Update
     * answers, so device routing follows at once. Fails without retry when an id no longer names
     * a fleet row of the tenant.
     */
    async persistAssignment(write: AssignmentWrite): Promise<void> {
      const result = await applyAssignment(db, storable(write));
      if (!result.applied) {
        const fields = result.missing.map((m) => ({ field: m.field, message: `no ${m.kind} with id ${m.id} in your tenant` }));
        throw ApplicationFailure.nonRetryable(`${fields.map((f) => f.field).join(', ')} no longer name fleet resources of the tenant`, ASSIGNMENT_FAILURES.unknownFleetReference, fields);
      }
      logger.info({ tenantId: write.tenantId, shipmentId: write.shipmentId, eventKey: write.eventKey, ...executionFields() }, 'assignment persisted');
    },
  };
}

export type ShipmentActivities = ReturnType<typeof createActivities>;
