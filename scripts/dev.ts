// `npm start`: the whole system on one machine without Docker.
// Starts what is not given from outside (Temporal dev server unless TEMPORAL_ADDRESS is set, embedded
// Postgres unless DATABASE_URL is set), applies migrations, runs the worker and the API as child
// processes with their logs prefixed, and stops everything in order on Ctrl-C / SIGTERM:
// API and worker first, then Temporal, then Postgres. If any child dies, everything stops, exit 1.
// Once up it records its URLs in <data folder>/runtime.json for the admin CLI (removed on stop);
// `--demo` also drives a small simulated fleet of a demo tenant through the API.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { createDatabase } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadEnv } from '../infra/env.js';
import { dataDir, removeRuntimeInfo, writeRuntimeInfo } from '../infra/runtime.js';
import { PROJECT_ROOT, temporalCliPath } from '../infra/tools.js';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../workflows/contract.js';
import { demoTenantKey, type BootstrapKey } from './bootstrap.js';
import { DEFAULT_EMBEDDED_PORT } from './embedded-postgres.js';

const DATA_DIR = dataDir();

// ---------------------------------------------------------------------------------------------
// Child processes with prefixed logs

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const PREFIX_COLORS: Record<string, number> = { postgres: 34, temporal: 35, migrate: 36, worker: 33, api: 32, demo: 36, dev: 1 };
const LEVELS: Record<number, [string, number]> = {
  10: ['TRACE', 90], 20: ['DEBUG', 90], 30: ['INFO ', 32], 40: ['WARN ', 33], 50: ['ERROR', 31], 60: ['FATAL', 41],
};
const PINO_HOUSEKEEPING = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** pino JSON lines become `12:00:01.123 INFO  message {fields}`; anything else passes through. */
export function formatLogLine(line: string): string {
  if (process.env.DEV_LOG_FORMAT === 'json' || !line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (typeof entry.level !== 'number') return line;
    const [label, color] = LEVELS[entry.level] ?? [String(entry.level), 0];
    const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
    const rest = Object.fromEntries(Object.entries(entry).filter(([key]) => !PINO_HOUSEKEEPING.has(key)));
    const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${time} ${paint(color, label)} ${String(entry.msg ?? '')}${fields}`;
  } catch {
    return line;
  }
}

export function say(name: string, message: string): void {
  process.stdout.write(`${paint(PREFIX_COLORS[name.replace(/-\d+$/, '')] ?? 0, `[${name}]`.padEnd(11))}${message}\n`);
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
  stop(graceMs?: number): Promise<number | string>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    /** stdin as a pipe whose end tells the child that its parent is gone. */
    stdinPipe?: boolean;
    /** Return false to swallow a line. */
    onLine?: (line: string) => boolean | void;
    /** Drop output once stopping (the Temporal server logs every poller it closes). */
    quietWhileStopping?: boolean;
  } = {},
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: options.env ?? process.env,
    // Own process group: a terminal's Ctrl-C reaches only the orchestrator, which stops children in order.
    detached: true,
    stdio: [options.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let stopping = false;
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      if (options.onLine?.(line) === false) return;
      if (!(stopping && options.quietWhileStopping)) say(name, formatLogLine(line));
    });
  }
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
    child.once('error', (error) => {
      say(name, `failed to start: ${error.message}`);
      resolveExit('spawn-error');
    });
  });
  return {
    name,
    child,
    exited,
    async stop(graceMs = 15_000) {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        say('dev', `${name} did not stop within ${graceMs / 1000}s, killing it`);
        child.kill('SIGKILL');
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Runs a TypeScript entry point with the project's tsx loader, as `npm run worker` would. */
function startTypeScript(name: string, file: string, env: NodeJS.ProcessEnv): ManagedProcess {
  return startProcess(name, process.execPath, ['--import', 'tsx', file], { env });
}

async function assertPortFree(port: number, hint: string): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is already in use: ${hint}`) : error),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePromise()));
  });
}

/** A port the OS considers free right now (tests run servers side by side with a developer's `npm start`). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/** Polls `probe` until it succeeds; fails early if `process` exits meanwhile. */
async function waitFor(what: string, probe: () => Promise<boolean>, watched?: ManagedProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | undefined;
  void watched?.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`${watched?.name} exited (${exitCode}) before ${what} was ready`);
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000}s`);
}

// ---------------------------------------------------------------------------------------------
// Temporal dev server

export interface TemporalDevServerOptions {
  dbFile: string;
  port: number;
  uiPort: number;
  namespace: string;
  searchAttributes?: readonly string[];
}

/**
 * Arguments for `temporal server start-dev`. The SQLite pragmas trade durability on power loss for
 * about 3x the signal throughput (measured: README, "What `synchronous=off` trades"). Registering search attributes that already exist with
 * the same type is a no-op on restart, so the same command serves the first and every later start.
 */
export function temporalDevServerArgs(options: TemporalDevServerOptions): string[] {
  const args = [
    'server', 'start-dev',
    '--db-filename', options.dbFile,
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--ui-port', String(options.uiPort),
    '--ui-disable-news-fetch',
    '--sqlite-pragma', 'journal_mode=wal',
    '--sqlite-pragma', 'synchronous=off',
    '--log-level', 'error',
  ];
  // "default" always exists; any other namespace the app is configured with is created at launch.
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const registration of options.searchAttributes ?? SEARCH_ATTRIBUTE_REGISTRATIONS) args.push('--search-attribute', registration);
  return args;
}

/** Resolves once the frontend answers a health check and the namespace can be described. */
export async function waitForTemporal(address: string, namespace: string, watched?: ManagedProcess, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `Temporal at ${address}`,
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: '2s' });
      try {
        await connection.healthService.check({});
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      } finally {
        await connection.close();
      }
    },
    watched,
    timeoutMs,
  );
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<ManagedProcess> {
  await assertPortFree(options.port, 'is another `npm start` running? Set TEMPORAL_ADDRESS to use a running Temporal server');
  await assertPortFree(options.uiPort, 'the Temporal UI port is taken (set TEMPORAL_UI_PORT)');
  mkdirSync(resolve(options.dbFile, '..'), { recursive: true });
  const server = startProcess('temporal', temporalCliPath(), temporalDevServerArgs(options), { quietWhileStopping: true });
  try {
    await waitForTemporal(`127.0.0.1:${options.port}`, options.namespace, server);
  } catch (error) {
    await server.stop(5_000);
    throw error;
  }
  return server;
}

// ---------------------------------------------------------------------------------------------
// Embedded Postgres (PGlite over the wire protocol, in its own process)

export async function startEmbeddedPostgresProcess(options: { dataDir: string; port: number }): Promise<{ process: ManagedProcess; url: string }> {
  let url: string | undefined;
  const postgres = startProcess(
    'postgres',
    process.execPath,
    ['--import', 'tsx', 'scripts/embedded-postgres.ts', '--data-dir', options.dataDir, '--port', String(options.port), '--exit-with-parent'],
    {
      stdinPipe: true,
      onLine: (line) => {
        if (!line.startsWith('{"event":"ready"')) return true;
        url = (JSON.parse(line) as { url: string }).url;
        return false;
      },
    },
  );
  try {
    // A first start runs initdb inside WebAssembly: a few seconds; later starts take about one.
    await waitFor('embedded Postgres', async () => url !== undefined, postgres, 120_000);
  } catch (error) {
    await postgres.stop(5_000);
    throw error;
  }
  return { process: postgres, url: url! };
}

// ---------------------------------------------------------------------------------------------
// The demo fleet (`npm start -- --demo`)

/** A handful of trucks on short trips, 30x faster than real time: moving shipments within a minute. */
export const DEMO_FLEET_ARGS = ['run', '--vehicles', '4', '--acceleration', '30', '--min-km', '80', '--max-km', '300', '--seed', 'demo', '--progress-every', '30'];

/** The demo tenant's key for this start, and the simulator driving its fleet through the real API. */
async function startDemoFleet(databaseUrl: string, apiPort: number): Promise<{ key: BootstrapKey; fleet: ManagedProcess }> {
  const db = createDatabase(databaseUrl, { max: 1 });
  let key: BootstrapKey;
  try {
    key = await demoTenantKey(db);
  } finally {
    await db.destroy();
  }
  // The key goes by environment, not argv, so `ps` does not show it.
  const env = { ...process.env, SIM_API_URL: `http://127.0.0.1:${apiPort}`, SIM_API_KEY: key.apiKey };
  const fleet = startProcess('demo', process.execPath, ['--import', 'tsx', 'simulator/main.ts', ...DEMO_FLEET_ARGS], { env });
  return { key, fleet };
}

// ---------------------------------------------------------------------------------------------
// The orchestrator

function parseStartOptions(): { demo: boolean } {
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options: { demo: { type: 'boolean', default: false } }, strict: true });
    return { demo: values.demo };
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nusage: npm start [-- --demo]\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const options = parseStartOptions();
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
  const env = process.env;
  const apiPort = Number(env.PORT ?? 3000);
  const namespace = env.TEMPORAL_NAMESPACE ?? 'default';
  const workerProcesses = loadEnv(env).WORKER_PROCESSES;
  const temporalPort = Number(env.TEMPORAL_DEV_PORT ?? 7233);
  const uiPort = Number(env.TEMPORAL_UI_PORT ?? 8233);
  const pgPort = Number(env.PGLITE_PORT ?? DEFAULT_EMBEDDED_PORT);

  // Stopped in reverse order of start: API and worker, then Temporal, then Postgres.
  const infrastructure: ManagedProcess[] = [];
  const apps: ManagedProcess[] = [];
  // Stopped first; unlike the apps, one that ends is no reason to stop the system.
  const extras: ManagedProcess[] = [];
  let shuttingDown: Promise<never> | undefined;

  const shutdown = (exitCode: number, reason: string): Promise<never> => {
    shuttingDown ??= (async () => {
      say('dev', `stopping (${reason})`);
      removeRuntimeInfo(process.pid);
      await Promise.all(extras.map((extra) => extra.stop(10_000)));
      await Promise.all(apps.map((app) => app.stop(20_000)));
      for (const service of [...infrastructure].reverse()) await service.stop(15_000);
      say('dev', 'stopped');
      process.exit(exitCode);
    })();
    return shuttingDown;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (shuttingDown) say('dev', 'still stopping, please wait');
      else void shutdown(0, signal);
    });
  }
  // The terminal may be gone before we are (closed window, npm exiting on Ctrl-C): keep stopping in order.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // `npm start` killed with SIGTERM exits without passing the signal on: notice being orphaned.
  const parentPid = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentPid && !shuttingDown) void shutdown(0, 'parent process exited');
  }, 1_000).unref();
  // Last resort if the orchestrator itself crashes: leave no orphan behind.
  process.on('exit', () => {
    removeRuntimeInfo(process.pid);
    for (const managed of [...extras, ...apps, ...infrastructure]) {
      if (managed.child.exitCode === null && managed.child.signalCode === null) managed.child.kill('SIGKILL');
    }
  });

  try {
    for (const entry of ['worker/main.ts', 'api/main.ts']) {
      if (!existsSync(resolve(PROJECT_ROOT, entry))) throw new Error(`${entry} is missing`);
    }

    const startingPostgres = env.DATABASE_URL
      ? Promise.resolve({ url: env.DATABASE_URL, process: undefined })
      : startEmbeddedPostgresProcess({ dataDir: resolve(DATA_DIR, 'pglite'), port: pgPort });
    const startingTemporal = env.TEMPORAL_ADDRESS
      ? waitForTemporal(env.TEMPORAL_ADDRESS, namespace).then(() => undefined)
      : startTemporalDevServer({ dbFile: resolve(DATA_DIR, 'temporal/temporal.sqlite'), port: temporalPort, uiPort, namespace });
    // Start both at once; register each as soon as it is up so a failure of the other still stops it.
    const [postgres, temporal] = await Promise.allSettled([
      startingPostgres.then((started) => {
        if (started.process) infrastructure.unshift(started.process);
        return started;
      }),
      startingTemporal.then((started) => {
        if (started) infrastructure.push(started);
        return started;
      }),
    ]);
    if (postgres.status === 'rejected') throw postgres.reason;
    if (temporal.status === 'rejected') throw temporal.reason;
    const databaseUrl = postgres.value.url;
    const temporalAddress = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${temporalPort}`;
    say('postgres', postgres.value.process ? `embedded PGlite ready at ${databaseUrl} (data in ${relative(PROJECT_ROOT, resolve(DATA_DIR, 'pglite')) || '.'})` : 'using DATABASE_URL');
    say('temporal', env.TEMPORAL_ADDRESS ? `using TEMPORAL_ADDRESS ${temporalAddress}` : `dev server ready at ${temporalAddress} (data in ${relative(PROJECT_ROOT, resolve(DATA_DIR, 'temporal'))})`);
    say('dev', `Postgres and Temporal up after ${elapsed()}`);

    const db = createDatabase(databaseUrl, { max: 1 });
    try {
      const applied = await migrateToLatest(db);
      say('migrate', applied.length > 0 ? `applied ${applied.join(', ')}` : 'schema is up to date');
    } finally {
      await db.destroy();
    }

    const childEnv = { ...env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: namespace, PORT: String(apiPort) };
    // Several worker processes share the task queue, so workflow code runs on more cores than one process's threads.
    const workers = Array.from({ length: workerProcesses }, (_, i) => startTypeScript(workerProcesses > 1 ? `worker-${i + 1}` : 'worker', 'worker/main.ts', childEnv));
    const api = startTypeScript('api', 'api/main.ts', childEnv);
    apps.push(...workers, api);
    for (const managed of [...infrastructure, ...apps]) {
      void managed.exited.then((code) => {
        if (!shuttingDown) void shutdown(1, `${managed.name} exited unexpectedly (${code})`);
      });
    }

    await waitFor(`the API on port ${apiPort}`, async () => (await fetch(`http://127.0.0.1:${apiPort}/healthz`)).ok, api, 120_000);
    const demo = options.demo ? await startDemoFleet(databaseUrl, apiPort) : undefined;
    if (demo) {
      extras.push(demo.fleet);
      void demo.fleet.exited.then((code) => {
        if (!shuttingDown) say('demo', `the demo fleet's trips are over (exit ${code}); its shipments stay in the API`);
      });
    }
    const temporalUiUrl = env.TEMPORAL_ADDRESS ? undefined : `http://localhost:${uiPort}`;
    writeRuntimeInfo({
      databaseUrl,
      temporalAddress,
      temporalNamespace: namespace,
      apiUrl: `http://localhost:${apiPort}`,
      ...(temporalUiUrl ? { temporalUiUrl } : {}),
      pid: process.pid,
      processes: Object.fromEntries([...apps, ...extras].map((managed) => [managed.name, managed.child.pid ?? 0])),
      startedAt: new Date(startedAt).toISOString(),
    });
    const banner = [
      '',
      `  Console      http://localhost:${apiPort}/app   (sign in with an API key)`,
      `  API          http://localhost:${apiPort}`,
      `  API docs     http://localhost:${apiPort}/docs`,
      temporalUiUrl ? `  Temporal UI  ${temporalUiUrl}` : `  Temporal     ${temporalAddress} (external)`,
      `  Postgres     ${databaseUrl}${postgres.value.process ? ' (embedded)' : ''}`,
      '',
      ...(demo
        ? [
            `  Demo tenant "${demo.key.name}" (${demo.key.tenantId}), a fresh admin key for this start:`,
            `    KEY=${demo.key.apiKey}`,
            `    curl -s localhost:${apiPort}/v1/shipments -H "Authorization: Bearer $KEY"`,
            '',
          ]
        : []),
      '  New tenant:  npm run --silent admin -- create-tenant --name Acme   (finds this database by itself)',
      `  Ready after ${elapsed()}. Ctrl-C stops everything.`,
      '',
    ];
    for (const line of banner) say('dev', line);
  } catch (error) {
    say('dev', paint(31, `failed: ${error instanceof Error ? error.message : String(error)}`));
    await shutdown(1, 'start-up failed');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
