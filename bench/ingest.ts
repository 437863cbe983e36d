// Ingest benchmark: starts the whole system exactly as `npm start` does (scripts/dev.ts) on free
// ports with a throw-away data folder, creates a tenant, runs the simulator's load mode at each
// requested rate, and records per run what the load generator saw plus the CPU each process used
// (Temporal dev server, worker, API, Postgres, the load generator itself). Loopback only.
//
//   npx tsx bench/ingest.ts --rates 500,1000,2000,4000 --duration 30                 # Postgres at 127.0.0.1:5432
//   npx tsx bench/ingest.ts --postgres embedded --rates 1000 --duration 30           # embedded PGlite
//   npx tsx bench/ingest.ts --rates 2000 --duration 30 --cpu-prof /tmp/prof          # + V8 CPU profiles of worker and API (bench/cpu-profile.mjs)
//   npx tsx bench/ingest.ts --batch-size 1 --vehicles 3000 --mid-trip --rates 100,300 --defer-ms 30000  # live trackers, one fix per request
//   ... --raw-ceiling 20                                                             # then 20 s of the same dev server's raw signal ceiling
//   ... --out bench/results                                                          # also save the result JSON there
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PROJECT_ROOT } from '../infra/tools.js';
import { freePort } from '../scripts/dev.js';
import { formatSummary, runLoad, type LoadSummary } from '../simulator/load.js';
import { measureRawCeiling, type RawCeiling } from './raw-ceiling/measure.js';
import { startCpuMeter, startMemoryMeter, type RoleMemory } from './cpu-meter.js';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '500,1000,2000,4000' },
    duration: { type: 'string', default: '30' },
    'batch-size': { type: 'string', default: '50' },
    /** Trucks (one shipment each); default: enough trace for the run. */
    vehicles: { type: 'string' },
    /** Plan only this many trips and share them among the trucks (a fleet of 100,000 without planning each). */
    templates: { type: 'string' },
    /** Trucks start mid-trip (between 20 % and 80 % of their trace) instead of at their pickup. */
    'mid-trip': { type: 'boolean', default: false },
    /** Seconds of load before lag samples start (the fleet's first reads and run starts). */
    warmup: { type: 'string', default: '0' },
    /** INGEST_DEFER_MS of the API under test (the system's default when absent). */
    'defer-ms': { type: 'string' },
    /** Seconds of the raw signal ceiling on the same dev server after the runs (0: skip). */
    'raw-ceiling': { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '64' },
    'lag-sample-ms': { type: 'string', default: '250' },
    'lag-samplers': { type: 'string', default: '2' },
    postgres: { type: 'string', default: 'external' },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'cpu-prof': { type: 'string' },
    'system-log': { type: 'string' },
    label: { type: 'string', default: '' },
    /** Folder for the result JSON (e.g. bench/results); without it the figures are only printed. */
    out: { type: 'string' },
  },
});
const rates = args.rates.split(',').map(Number);
const durationSec = Number(args.duration);
const embedded = args.postgres === 'embedded';
const tag = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// The system under test

async function run(command: string, cmdArgs: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(command, cmdArgs, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`${command} ${cmdArgs.join(' ')} exited ${code}`);
  return out;
}

async function waitForApi(url: string, system: ChildProcess): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (system.exitCode !== null) throw new Error(`the system exited (${system.exitCode}) while starting`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the API was not ready after 180 s');
}

async function main(): Promise<void> {
  const ports = { api: await freePort(), temporal: await freePort(), ui: await freePort(), pglite: await freePort() };
  const dataDir = mkdtempSync(join(tmpdir(), 'retrack-bench-'));
  let database: string | undefined;
  let databaseUrl: string;
  if (embedded) {
    databaseUrl = `postgres://postgres@127.0.0.1:${ports.pglite}/postgres`;
  } else {
    database = `retrack_bench_${tag}`;
    const admin = new pg.Client({ connectionString: args['postgres-url'] });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(args['postgres-url']);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(ports.api),
    TEMPORAL_DEV_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    PGLITE_PORT: String(ports.pglite),
    RETRACK_DATA_DIR: dataDir,
    NO_COLOR: '1',
    LOG_LEVEL: 'warn',
    // One admin key stands for a whole fleet of devices here: its per-key limit is not under test.
    API_KEY_RATE_LIMIT_PER_SECOND: '0',
    ...(args['defer-ms'] !== undefined ? { INGEST_DEFER_MS: args['defer-ms'] } : {}),
  };
  delete env.TEMPORAL_ADDRESS;
  if (embedded) delete env.DATABASE_URL;
  else env.DATABASE_URL = databaseUrl;
  if (args['cpu-prof']) {
    mkdirSync(resolve(args['cpu-prof']), { recursive: true });
    env.BENCH_CPU_PROFILE_DIR = resolve(args['cpu-prof']);
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${resolve(PROJECT_ROOT, 'bench/cpu-profile.mjs')}`.trim();
  }

  log(`starting the system (${embedded ? 'embedded PGlite' : `Postgres ${databaseUrl}`}, data in ${dataDir})`);
  const system = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const systemLog: string[] = [];
  for (const stream of [system.stdout, system.stderr]) stream?.on('data', (chunk: Buffer) => systemLog.push(chunk.toString()));
  const exited = new Promise<number | null>((done) => system.once('exit', done));
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const runs: {
    summary: LoadSummary;
    cpuPercent: Record<string, number>;
    creationCpuPercent: Record<string, number>;
    memoryMb: { creation: Record<string, RoleMemory>; load: Record<string, RoleMemory> };
    loadAverage: number[];
  }[] = [];
  let rawCeiling: (RawCeiling & { cpuPercent: Record<string, number> }) | undefined;
  try {
    await waitForApi(apiUrl, system);
    const { apiKey } = JSON.parse(
      await run(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', 'create-tenant', '--name', 'Bench Freight'], { ...process.env, DATABASE_URL: databaseUrl }),
    ) as { apiKey: string };

    for (const rate of rates) {
      // Let the previous run's tail (signals, projection writes) finish before measuring.
      await new Promise((r) => setTimeout(r, 5_000));
      let loadMeter: ReturnType<typeof startCpuMeter> | undefined;
      let measureStart = 0;
      // Creation (the bulk endpoint) is measured apart: from its start to the first progress line.
      let creationMeter: ReturnType<typeof startCpuMeter> | undefined;
      let creationCpuPercent: Record<string, number> = {};
      let creationMemory: ReturnType<typeof startMemoryMeter> | undefined;
      let memoryAfterCreation: Record<string, RoleMemory> = {};
      let loadMemory: ReturnType<typeof startMemoryMeter> | undefined;
      const summary = await runLoad({
        baseUrl: apiUrl,
        apiKey,
        ratePerSec: rate,
        durationSec,
        batchSize: Number(args['batch-size']),
        ...(args.vehicles ? { vehicles: Number(args.vehicles) } : {}),
        ...(args.templates ? { templates: Number(args.templates) } : {}),
        midTrip: args['mid-trip'],
        warmupSec: Number(args.warmup),
        concurrency: Number(args.concurrency),
        seed: `bench-${rate}`,
        lagSampleEveryMs: Number(args['lag-sample-ms']),
        lagSamplers: Number(args['lag-samplers']),
        runTag: `${tag}-${rate}`,
        log,
        onCreating: () => {
          creationMeter = startCpuMeter(system.pid!, database, 'loadGenerator');
          creationMemory = startMemoryMeter(system.pid!);
        },
        progress: (line, final) => {
          // The first progress line comes after shipment creation: start counting CPU there.
          if (measureStart === 0) {
            measureStart = performance.now();
            creationCpuPercent = creationMeter?.stop() ?? {};
            loadMeter = startCpuMeter(system.pid!, database, 'loadGenerator');
            memoryAfterCreation = creationMemory?.stop() ?? {};
            loadMemory = startMemoryMeter(system.pid!);
          }
          if (final) log(line);
        },
      });
      const cpuPercent = loadMeter?.stop() ?? {};
      const memoryMb = { creation: memoryAfterCreation, load: loadMemory?.stop() ?? {} };
      runs.push({ summary, cpuPercent, creationCpuPercent, memoryMb, loadAverage: loadavg().map((v) => Math.round(v * 100) / 100) });
      log(formatSummary(summary));
      log(`CPU % of one core: ${JSON.stringify(cpuPercent)}; while creating: ${JSON.stringify(creationCpuPercent)}`);
      log(`resident memory, MB: ${JSON.stringify(memoryMb)}`);
    }
    if (Number(args['raw-ceiling']) > 0) {
      await new Promise((r) => setTimeout(r, 5_000));
      const meter = startCpuMeter(system.pid!, database);
      const ceiling = await measureRawCeiling({ address: `127.0.0.1:${ports.temporal}`, durationSec: Number(args['raw-ceiling']) });
      rawCeiling = { ...ceiling, cpuPercent: meter.stop() };
      log(`raw signal ceiling of the same dev server: ${ceiling.signalsSentPerSec} signals/s sent, ${ceiling.signalsDrainedPerSec}/s drained (CPU ${JSON.stringify(rawCeiling.cpuPercent)})`);
    }
  } catch (error) {
    log(`failed: ${error instanceof Error ? error.message : String(error)}\n${systemLog.join('').slice(-4000)}`);
    process.exitCode = 1;
  } finally {
    system.kill('SIGTERM');
    await exited;
    if (args['system-log']) writeFileSync(args['system-log'], systemLog.join(''));
    rmSync(dataDir, { recursive: true, force: true });
    if (database) {
      const admin = new pg.Client({ connectionString: args['postgres-url'] });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  }
  if (runs.length === 0) return;

  const result = {
    label: args.label,
    recordedAt: new Date().toISOString(),
    command: `npx tsx bench/ingest.ts ${process.argv.slice(2).join(' ')}`.trim(),
    postgres: embedded ? 'embedded PGlite (scripts/embedded-postgres.ts)' : 'Postgres 127.0.0.1:5432 (fresh database)',
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    notes: 'cpuPercent: % of one core per process group during the load phase, creationCpuPercent the same while the shipments were created; memoryMb: resident memory of the Temporal dev server, worker and API (max and last of samples every 5 s) while creating and during the load (2 cores = 200%; machine = all busy CPU, otherProcesses = machine minus ours). Loopback only; Temporal dev server with WAL + synchronous=off.',
    runs,
    ...(rawCeiling ? { rawCeiling } : {}),
  };
  if (!args.out) {
    log('not saved: add --out bench/results to keep the result JSON');
    return;
  }
  mkdirSync(resolve(PROJECT_ROOT, args.out), { recursive: true });
  const file = resolve(PROJECT_ROOT, args.out, `ingest-${embedded ? 'pglite' : 'postgres'}-${tag}${args.label ? `-${args.label}` : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`written to ${file}`);
}

await main();
