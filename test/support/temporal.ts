// Real Temporal servers for tests, from the pinned binaries under .tools/ (never downloaded at run time).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { searchAttributes } from '../../workflows/contract.js';
import { temporalCliPath, temporalTestServerPath } from '../../infra/tools.js';

/**
 * Java time-skipping server: timers of hours run in seconds. No visibility queries, but the
 * project's search attributes are registered: like any real cluster it refuses upserts of unknown ones.
 */
export async function startTimeSkippingTemporal(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace,
    searchAttributes: Object.fromEntries(Object.values(searchAttributes).map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!])),
  });
  return env;
}

/** The real dev server (same binary as `npm start`), with the project's search attributes registered. */
export function startLocalTemporal(options: { dynamicConfig?: Record<string, string | number | boolean> } = {}): Promise<TestWorkflowEnvironment> {
  const dynamicConfig = Object.entries(options.dynamicConfig ?? {}).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: Object.values(searchAttributes),
      extraArgs: ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=off', ...dynamicConfig],
    },
  });
}
