// Property-based fuzzing of the whole API from its own /openapi.json (schemathesis, pinned in the
// project's tool venv by scripts/install-tools.sh) against a real running system: a real listener,
// the real worker, the Temporal dev server and Postgres. Every response must be no server error,
// carry a documented status code and content type, and match its documented schema. It runs
// authenticated as each role: the admin run includes schemathesis' coverage phase (boundary and
// invalid values for every parameter), every role runs the examples and fuzzing phases.
// A fixed seed keeps the run reproducible; a failure prints schemathesis' report with a curl line.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../api/auth.js';
import { insertFleetRow } from '../../db/repositories/fleet.js';
import type { ApiKeyRole } from '../../db/schema.js';
import { createLogger } from '../../infra/logger.js';
import { schemathesisPath } from '../../infra/tools.js';
import { startInProcessStack, type InProcessStack } from '../support/stack.js';

const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance'];
const SEED = 20261202;
// Test cases per operation in the fuzzing phase (the coverage phase decides its own number).
const EXAMPLES: Record<ApiKeyRole, number> = { admin: 25, dispatcher: 10, viewer: 6, device: 6 };

let stack: InProcessStack;
let workDir: string;
const keys = {} as Record<ApiKeyRole, string>;

beforeAll(async () => {
  // One admin key stands for a whole test run: its rate limit would only turn cases into 429s.
  stack = await startInProcessStack({
    logger: createLogger({ name: 'fuzz', level: 'silent' }),
    tenantName: 'Fuzzing Freight',
    role: 'admin',
    config: { apiKeys: { rateLimitPerSecond: 0 } },
  });
  const device = await insertFleetRow(stack.database.db, 'device', { id: randomUUID(), tenant_id: stack.tenantId, external_id: 'IMEI-FUZZ-1', updated_at: new Date() });
  keys.admin = stack.apiKey;
  for (const role of ['dispatcher', 'viewer'] as const) keys[role] = (await issueApiKey(stack.database.db, { tenantId: stack.tenantId, role })).apiKey;
  keys.device = (await issueApiKey(stack.database.db, { tenantId: stack.tenantId, role: 'device', deviceId: device.id })).apiKey;
  // schemathesis and hypothesis write nothing into the repository.
  workDir = mkdtempSync(join(tmpdir(), 'retrack-fuzz-'));
});

afterAll(async () => {
  await stack?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface FuzzRun {
  role: ApiKeyRole;
  exitCode: number | null;
  output: string;
  generated: number;
}

function fuzz(role: ApiKeyRole, phases: string): Promise<FuzzRun> {
  const args = [
    'run',
    `${stack.baseUrl}/openapi.json`,
    '--checks',
    CHECKS.join(','),
    '--phases',
    phases,
    '--max-examples',
    String(EXAMPLES[role]),
    '--seed',
    String(SEED),
    '--header',
    `Authorization: Bearer ${keys[role]}`,
    '--workers',
    '2',
    '--request-timeout',
    '30',
    '--generation-database',
    'none',
    '--no-color',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(schemathesisPath(), args, { cwd: workDir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const generated = Number(/(\d+) generated/.exec(output)?.[1] ?? 0);
      resolve({ role, exitCode, output, generated });
    });
  });
}

describe('fuzzing /openapi.json as each role', () => {
  it('finds no server error and no response that breaks the documented contract', async () => {
    // Two schemathesis processes at a time: one per core, the system under test shares them.
    const [admin, others] = await Promise.all([
      fuzz('admin', 'examples,coverage,fuzzing'),
      (async () => {
        const runs: FuzzRun[] = [];
        for (const role of ['dispatcher', 'viewer', 'device'] as const) runs.push(await fuzz(role, 'examples,fuzzing'));
        return runs;
      })(),
    ]);
    const runs = [admin, ...others];
    console.log(`fuzzing: ${runs.map((r) => `${r.role} ${r.generated} cases (exit ${r.exitCode})`).join(', ')}; total ${runs.reduce((n, r) => n + r.generated, 0)}`);
    for (const run of runs) {
      expect(run.generated, `${run.role}: schemathesis generated no test case\n${run.output}`).toBeGreaterThan(0);
      expect(run.exitCode, `${run.role}:\n${run.output}`).toBe(0);
    }
  }, 420_000);
});
