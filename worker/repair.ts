// Self-healing for shipments stuck on a nondeterminism error. A workflow task that fails because
// replay diverged from history fails again on every retry: the shipment stops until someone resets
// it. That happens when the recorded history does not match what the worker saw (seen here after
// Temporal restarts under load: a signal recorded inside a task whose worker never received it,
// ../shared/fixtures/nondeterminism-history-s17.json.gz) or after an unpatched code change.
//
// The repair resets the run to the last workflow task that completed before the diverging event:
// history up to there replays, the task is run again on today's code, and signals received after
// it are re-applied. Nothing is lost: fixes are read from Postgres, and projection writes are
// idempotent and versioned by workflow time. Each reset is keyed by (run, reset point), so any
// number of workers may run this loop.
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import proto, { type temporal as protos } from '@temporalio/proto';
import Long from 'long';
import type { Logger } from '../infra/logger.js';
import { startPeriodic, type PeriodicJob } from '../infra/periodic.js';
import { SHIPMENT_WORKFLOW_TYPE } from '../workflows/contract.js';

// CommonJS module: its namespace comes through the default export under ESM.
const { temporal } = proto;

type HistoryEvent = protos.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;
const NONDETERMINISTIC = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR;

/** Core names the first event that did not match: "… HistoryEvent(id: 883, ActivityTaskScheduled)". */
const DIVERGING_EVENT = /HistoryEvent\(id: (\d+)/;

/**
 * Where to reset a run whose latest workflow task failed with a nondeterminism error: the last
 * completed workflow task before the diverging event. Undefined when the run is not stuck that way.
 */
export function resetPointOf(events: readonly HistoryEvent[]): number | undefined {
  const lastTaskOutcome = events.findLast((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED || e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
  const failure = lastTaskOutcome?.workflowTaskFailedEventAttributes;
  if (!failure || failure.cause !== NONDETERMINISTIC) return undefined;
  const firstFailure = events.find((e) => e.workflowTaskFailedEventAttributes?.cause === NONDETERMINISTIC);
  const diverging = Number(DIVERGING_EVENT.exec(failure.failure?.message ?? '')?.[1] ?? Number(firstFailure?.eventId ?? 0));
  const point = events.findLast((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && Number(e.eventId) < diverging);
  return point ? Number(point.eventId) : undefined;
}

export interface Repair {
  workflowId: string;
  runId: string;
  resetTo: number;
  newRunId: string;
}

/** Resets one stuck shipment run; undefined when it is not stuck on nondeterminism. */
export async function repairShipment(client: Client, workflowId: string, runId: string): Promise<Repair | undefined> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const resetTo = resetPointOf(history.events ?? []);
  if (resetTo === undefined) return undefined;
  const requestId = createHash('sha256').update(`${workflowId}/${runId}/${resetTo}`).digest('hex').slice(0, 32);
  const response: protos.api.workflowservice.v1.IResetWorkflowExecutionResponse = await client.workflowService.resetWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId, runId },
    reason: `nondeterminism: reset to workflow task ${resetTo} and re-run on the current code (worker/repair.ts)`,
    workflowTaskFinishEventId: Long.fromNumber(resetTo),
    requestId,
    resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
  });
  return { workflowId, runId, resetTo, newRunId: response.runId ?? '' };
}

/** Running shipment workflows the server reports as failing their workflow tasks. */
export async function findStuckShipments(client: Client): Promise<{ workflowId: string; runId: string }[]> {
  const query = `WorkflowType = '${SHIPMENT_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TemporalReportedProblems IS NOT NULL`;
  const stuck: { workflowId: string; runId: string }[] = [];
  for await (const execution of client.workflow.list({ query })) stuck.push({ workflowId: execution.workflowId, runId: execution.runId });
  return stuck;
}

/** Resets every shipment stuck on nondeterminism; what it did, for logs and tests. */
export async function repairStuckShipments(client: Client, logger: Logger): Promise<Repair[]> {
  const repairs: Repair[] = [];
  for (const run of await findStuckShipments(client)) {
    try {
      const repair = await repairShipment(client, run.workflowId, run.runId);
      if (!repair) continue;
      repairs.push(repair);
      logger.warn({ ...repair }, 'shipment workflow stuck on nondeterminism: reset and re-run on the current code');
    } catch (error) {
      logger.error({ err: error, workflowId: run.workflowId, runId: run.runId }, 'could not repair a stuck shipment workflow');
    }
  }
  return repairs;
}

export function startRepairLoop(client: Client, options: { intervalMs: number; logger: Logger }): PeriodicJob {
  return startPeriodic(() => repairStuckShipments(client, options.logger), { ...options, name: 'nondeterminism repair' });
}
