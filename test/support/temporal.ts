// Real Temporal servers for tests, from the pinned binaries under .tools/ (never downloaded at run time).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributes } from '../../workflows/contract.js';
import { temporalCliPath, temporalTestServerPath } from '../../infra/tools.js';

/** Java time-skipping server: timers of hours run in seconds. No visibility/search attributes. */
export function startTimeSkippingTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
}

/** The real dev server (same binary as `npm start`), with the project's search attributes registered. */
export function startLocalTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: Object.values(searchAttributes),
      extraArgs: ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=off'],
    },
  });
}
