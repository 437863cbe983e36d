// The real worker and API entry points as child processes (for crash tests), and their exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../infra/tools.js';

export function startEntryPoint(entry: 'worker/main.ts' | 'api/main.ts', env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry], { cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}
