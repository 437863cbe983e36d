// What a running `npm start` tells the tools beside it: the URLs it serves, written to
// `<data folder>/runtime.json` once the system is up and removed when it stops, so the admin CLI
// reaches the database `npm start` uses without anyone copying a URL.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { PROJECT_ROOT } from './tools.js';

export interface RuntimeInfo {
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  apiUrl: string;
  /** Absent when Temporal runs elsewhere (TEMPORAL_ADDRESS). */
  temporalUiUrl?: string;
  /** The orchestrator's process id: a file whose process is gone is left over from a crash. */
  pid: number;
  /** Its child processes (worker, API, demo fleet), by name. */
  processes: Record<string, number>;
  startedAt: string;
}

/** RETRACK_DATA_DIR lets tests and benchmarks run a whole second system beside a developer's own. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(PROJECT_ROOT, env.RETRACK_DATA_DIR ?? '.data');
}

export function runtimeFile(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(dataDir(env), 'runtime.json');
}

/** The path as a person would type it from the project folder. */
export function displayPath(path: string): string {
  const inProject = relative(PROJECT_ROOT, path);
  return inProject.startsWith('..') ? path : inProject;
}

export function writeRuntimeInfo(info: RuntimeInfo, env: NodeJS.ProcessEnv = process.env): void {
  mkdirSync(dataDir(env), { recursive: true });
  // Only this user may read it: a DATABASE_URL given from outside may carry a password.
  writeFileSync(runtimeFile(env), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the file if it is this process's own (a second `npm start` refused at start-up must not remove the first's). */
export function removeRuntimeInfo(pid: number, env: NodeJS.ProcessEnv = process.env): void {
  if (readRuntimeInfo(env)?.pid === pid) rmSync(runtimeFile(env), { force: true });
}

export function readRuntimeInfo(env: NodeJS.ProcessEnv = process.env): RuntimeInfo | undefined {
  const file = runtimeFile(env);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A connection URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export type ToolDatabase = { url: string; source: string } | { problem: string };

/**
 * The database a command-line tool should use: DATABASE_URL when set, else the one the running
 * `npm start` recorded. Otherwise a problem saying what to do.
 */
export function toolDatabase(env: NodeJS.ProcessEnv = process.env): ToolDatabase {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'DATABASE_URL' };
  const file = runtimeFile(env);
  const info = readRuntimeInfo(env);
  if (info && isProcessAlive(info.pid)) return { url: info.databaseUrl, source: `the running npm start (${displayPath(file)})` };
  const start = env.RETRACK_DATA_DIR ? `RETRACK_DATA_DIR=${env.RETRACK_DATA_DIR} npm start` : 'npm start';
  const why = info ? `${displayPath(file)} is left from an npm start (pid ${info.pid}) that is no longer running` : `no npm start is running (${displayPath(file)} is missing)`;
  return { problem: `No database to use: DATABASE_URL is not set and ${why}.\nStart the system with \`${start}\` in another terminal and run this again, or set DATABASE_URL=postgres://… to use a database of your own.` };
}
