// Activities of the shipment workflow: the only place its decisions touch I/O.
// Built by a factory so tests and the worker inject their own database and logger.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { applyShipmentProgress, type ProjectionWriteResult } from '../db/repositories/projection.js';
import { applyAssignment, type AssignmentWrite } from '../db/repositories/assignment.js';
import { createEtaActivities } from './eta.js';
import { ASSIGNMENT_FAILURES } from '../workflows/contract.js';
import type { Database } from '../db/schema.js';
import type { ShipmentProgress } from '../domain/timeline.js';
import type { Logger } from '../infra/logger.js';

export interface ActivityDependencies {
  db: Kysely<Database>;
  logger: Logger;
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

export function createActivities({ db, logger }: ActivityDependencies) {
  return {
    ...createEtaActivities({ db, logger }),

    /** Writes a projection snapshot and its timeline events; safe to retry and to run late. */
    async persistShipmentProgress(progress: ShipmentProgress): Promise<ProjectionWriteResult> {
      const log = logger.child({ tenantId: progress.tenantId, shipmentId: progress.shipmentId, ...executionFields() });
      const result = await applyShipmentProgress(db, progress);
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
      const result = await applyAssignment(db, write);
      if (!result.applied) {
        const fields = result.missing.map((m) => ({ field: m.field, message: `no ${m.kind} with id ${m.id} in your tenant` }));
        throw ApplicationFailure.nonRetryable(`${fields.map((f) => f.field).join(', ')} no longer name fleet resources of the tenant`, ASSIGNMENT_FAILURES.unknownFleetReference, fields);
      }
      logger.info({ tenantId: write.tenantId, shipmentId: write.shipmentId, eventKey: write.eventKey, ...executionFields() }, 'assignment persisted');
    },
  };
}

export type ShipmentActivities = ReturnType<typeof createActivities>;
