// Activities of the shipment workflow: the only place its decisions touch I/O.
// Built by a factory so tests and the worker inject their own database and logger.
import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { applyShipmentProgress, type ProjectionWriteResult } from '../db/repositories/projection.js';
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
  };
}

export type ShipmentActivities = ReturnType<typeof createActivities>;
