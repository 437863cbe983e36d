// The Temporal half of `npm start`, for real: the dev server started exactly as the orchestrator
// starts it (same arguments, SQLite file, pragmas, search attributes), stopped, and started again on
// the same file. A running workflow must survive, and re-registering the search attributes on the
// existing file must not break the start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startTemporalDevServer, type ManagedProcess } from '../../scripts/dev.js';
import { SEARCH_ATTRIBUTE_REGISTRATIONS, SHIPMENT_WORKFLOW_TYPE, searchAttributes } from '../../workflows/contract.js';

async function withClient<T>(port: number, use: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    return await use(new Client({ connection, namespace: 'default' }), connection);
  } finally {
    await connection.close();
  }
}

describe('Temporal dev server as npm start runs it', () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'retrack-temporal-'));
  const dbFile = join(dataRoot, 'temporal', 'temporal.sqlite');
  const workflowId = `shipment/ops-test/${Date.now()}`;
  let server: ManagedProcess | undefined;

  afterAll(async () => {
    await server?.stop(10_000);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  async function start(): Promise<number> {
    const port = await freePort();
    server = await startTemporalDevServer({ dbFile, port, uiPort: await freePort(), namespace: 'default' });
    return port;
  }

  it('registers every search attribute of the contract', async () => {
    const port = await start();
    const registered = await withClient(port, async (_, connection) =>
      (await connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ?? {},
    );
    for (const registration of SEARCH_ATTRIBUTE_REGISTRATIONS) {
      expect(Object.keys(registered)).toContain(registration.split('=')[0]);
    }

    // No worker polls this task queue: the workflow simply stays open, as a shipment between fixes does.
    await withClient(port, (client) =>
      client.workflow.start(SHIPMENT_WORKFLOW_TYPE, {
        taskQueue: 'ops-test-no-worker',
        workflowId,
        typedSearchAttributes: new TypedSearchAttributes([{ key: searchAttributes.tenantId, value: 'tenant-ops' }]),
      }),
    );
  });

  it('keeps running workflows across a restart on the same SQLite file', async () => {
    expect(await server!.stop(15_000)).toBe(0);
    const port = await start();
    await withClient(port, async (client) => {
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('RUNNING');
      const listed: string[] = [];
      for await (const execution of client.workflow.list({ query: `TenantId="tenant-ops" AND ExecutionStatus="Running"` })) {
        listed.push(execution.workflowId);
      }
      expect(listed).toEqual([workflowId]);
    });
  });
});
