// Bootstrap without copying a URL: `npm start -- --demo` (scripts/dev.ts, embedded Postgres, its
// own Temporal) records where it runs under its data folder; the admin CLI run beside it with no
// DATABASE_URL creates a tenant in that very database, whose key the API accepts; the demo fleet's
// shipments receive fixes; stopping npm start stops the fleet and removes the record.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive, readRuntimeInfo, runtimeFile, type RuntimeInfo } from '../../infra/runtime.js';
import { PROJECT_ROOT } from '../../infra/tools.js';
import { callJson, eventually } from '../support/http.js';
import { freeSystemPorts, startSystem, stopSystem, type RunningSystem, type SystemPorts } from '../support/system.js';

const run = promisify(execFile);

/** The admin CLI as a newcomer runs it: no DATABASE_URL, only the data folder npm start uses. */
function admin(dataDir: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, RETRACK_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  return run(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], { cwd: PROJECT_ROOT, env });
}

describe('admin CLI without DATABASE_URL and without npm start', () => {
  const empty = mkdtempSync(join(tmpdir(), 'retrack-no-start-'));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it('says what to do instead of writing to some other database', async () => {
    await expect(admin(empty, 'create-tenant', '--name', 'Nowhere')).rejects.toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(/No database to use: DATABASE_URL is not set and no npm start is running[\s\S]*npm start[\s\S]*DATABASE_URL=/),
    });
  });

  it('does not trust a record left by an npm start that is gone', async () => {
    const gone = { databaseUrl: 'postgres://postgres@127.0.0.1:1/postgres', pid: 2 ** 22 + 12_345 } as RuntimeInfo;
    writeFileSync(join(empty, 'runtime.json'), JSON.stringify(gone));
    await expect(admin(empty, 'create-tenant', '--name', 'Stale')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/left from an npm start \(pid 4206649\) that is no longer running/),
    });
  });
});

describe('npm start -- --demo, with the admin CLI beside it', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'retrack-bootstrap-'));
  let ports: SystemPorts;
  let system: RunningSystem;
  const env = () => ({ RETRACK_DATA_DIR: dataDir });
  const api = (path: string) => `http://127.0.0.1:${ports.api}${path}`;
  const output = () => system.output.join('');

  beforeAll(async () => {
    ports = await freeSystemPorts();
    system = startSystem(ports, dataDir, { args: ['--demo'] });
    await eventually('npm start to record where it runs', async () => readRuntimeInfo(env()), (info) => info !== undefined, {
      timeoutMs: 180_000,
      context: () => output().slice(-4000),
    });
  }, 200_000);

  afterAll(async () => {
    if (system?.child.exitCode === null) await stopSystem(system);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('records its database, API and Temporal under the data folder', () => {
    const info = readRuntimeInfo(env())!;
    expect(info).toMatchObject({
      databaseUrl: `postgres://postgres@127.0.0.1:${ports.postgres}/postgres`,
      apiUrl: `http://localhost:${ports.api}`,
      temporalAddress: `127.0.0.1:${ports.temporal}`,
      temporalUiUrl: `http://localhost:${ports.ui}`,
      pid: system.child.pid,
    });
    expect(Object.keys(info.processes).sort()).toEqual(['api', 'demo', 'worker']);
  });

  it('lets the admin CLI create a tenant in that database; the API accepts its key', async () => {
    const { stdout, stderr } = await admin(dataDir, 'create-tenant', '--name', 'Acme');
    expect(stderr).toContain(`database postgres://postgres@127.0.0.1:${ports.postgres}/postgres, from the running npm start (${runtimeFile(env())})`);
    const tenant = JSON.parse(stdout) as { tenantId: string; apiKey: string };
    const listed = await callJson(api(''), 'GET', '/v1/shipments', tenant.apiKey);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ items: [], nextCursor: null });
  });

  it('prints the demo tenant’s admin key and its simulated fleet’s shipments receive fixes', async () => {
    const key = /KEY=(rtk_\S+)/.exec(output())?.[1];
    expect(key, output().slice(-2000)).toBeDefined();
    const withFixes = await eventually(
      'a demo shipment with stored fixes',
      async () => {
        const page = await callJson(api(''), 'GET', '/v1/shipments', key!);
        for (const shipment of (page.body?.items ?? []) as { id: string }[]) {
          const positions = await callJson(api(''), 'GET', `/v1/shipments/${shipment.id}/positions`, key!);
          if (positions.body.items.length > 0) return { shipment, fixes: positions.body.items.length };
        }
        return undefined;
      },
      (found) => found !== undefined,
      { timeoutMs: 120_000, context: () => output().slice(-3000) },
    );
    expect(withFixes!.fixes).toBeGreaterThan(0);
    const state = await callJson(api(''), 'GET', `/v1/shipments/${withFixes!.shipment.id}`, key!);
    expect(state.status).toBe(200);
    expect(state.body.reference).toEqual(expect.any(String));
  });

  it('stops the demo fleet with everything else and removes its record', async () => {
    const info = readRuntimeInfo(env())!;
    expect(await stopSystem(system)).toBe(0);
    expect(readRuntimeInfo(env())).toBeUndefined();
    for (const [name, pid] of Object.entries(info.processes)) expect(isProcessAlive(pid), name).toBe(false);
  });
});
