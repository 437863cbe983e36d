// The whole system as `npm start` runs it (scripts/dev.ts as a child process) on free ports with
// a data folder of the test's own, Postgres embedded and Temporal started by it: the README's
// start command for real, beside a developer's own `npm start`.
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../infra/tools.js';
import { freePort } from '../../scripts/dev.js';

export interface SystemPorts {
  api: number;
  temporal: number;
  ui: number;
  postgres: number;
}

export interface RunningSystem {
  child: ChildProcess;
  /** Everything it printed, stdout and stderr, in arrival order. */
  output: string[];
  exited: Promise<number | null>;
}

export async function freeSystemPorts(): Promise<SystemPorts> {
  return { api: await freePort(), temporal: await freePort(), ui: await freePort(), postgres: await freePort() };
}

/** Starts scripts/dev.ts with `args` (e.g. `--demo`); DATABASE_URL and TEMPORAL_ADDRESS are left out so it starts its own. */
export function startSystem(ports: SystemPorts, dataDir: string, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): RunningSystem {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(ports.api),
    TEMPORAL_DEV_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    PGLITE_PORT: String(ports.postgres),
    RETRACK_DATA_DIR: dataDir,
    NO_COLOR: '1',
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts', ...(options.args ?? [])], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/** SIGTERM, as Ctrl-C would; resolves with the exit code once everything has stopped. */
export async function stopSystem(running: RunningSystem): Promise<number | null> {
  running.child.kill('SIGTERM');
  return running.exited;
}
