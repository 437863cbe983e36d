// The Temporal Schedule that runs the ETA history refresh (workflows/eta-history.ts). Every worker
// ensures it at start: created when missing, brought up to date when its interval, task queue or
// input differ, left alone otherwise. So several workers starting together, or a restart, never
// make a second schedule, and changing ETA_HISTORY_REFRESH_MINUTES takes effect on the next start.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from '../infra/logger.js';
import { ETA_HISTORY_SCHEDULE_ID, ETA_HISTORY_WORKFLOW_ID, ETA_HISTORY_WORKFLOW_TYPE, type EtaHistoryRefreshInput } from '../workflows/eta-history-contract.js';

export interface EtaHistoryScheduleOptions {
  taskQueue: string;
  everyMinutes: number;
  maxShipments: number;
  logger: Logger;
  scheduleId?: string;
}

export type EnsureOutcome = 'created' | 'updated' | 'unchanged';

export async function ensureEtaHistorySchedule(client: Client, options: EtaHistoryScheduleOptions): Promise<EnsureOutcome> {
  const scheduleId = options.scheduleId ?? ETA_HISTORY_SCHEDULE_ID;
  const input: EtaHistoryRefreshInput = { maxShipments: options.maxShipments };
  const everyMs = options.everyMinutes * 60_000;
  const spec = { intervals: [{ every: everyMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: ETA_HISTORY_WORKFLOW_TYPE,
    workflowId: ETA_HISTORY_WORKFLOW_ID,
    taskQueue: options.taskQueue,
    args: [input],
    // A run reads every tenant's recent deliveries; one that is still going when the next is due is enough.
    workflowExecutionTimeout: Math.max(everyMs, 60 * 60_000),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' };
  const log = options.logger.child({ scheduleId });
  try {
    // The first run starts at once, so a fresh deployment learns without waiting an interval.
    await client.schedule.create({ scheduleId, spec, action, policies, state: { triggerImmediately: true, note: 'ETA history refresh (worker/eta-history-schedule.ts)' } });
    log.info({ everyMinutes: options.everyMinutes }, 'ETA history schedule created');
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const currentAction = current.action.type === 'startWorkflow' ? current.action : undefined;
  const currentEvery = current.spec.intervals?.[0]?.every;
  const same =
    current.spec.intervals?.length === 1 &&
    Number(currentEvery) === everyMs &&
    currentAction?.workflowType === ETA_HISTORY_WORKFLOW_TYPE &&
    currentAction.taskQueue === options.taskQueue &&
    JSON.stringify(currentAction.args) === JSON.stringify([input]);
  if (same) return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec, action, policies, state: { ...previous.state } }));
  log.info({ everyMinutes: options.everyMinutes }, 'ETA history schedule updated');
  return 'updated';
}
