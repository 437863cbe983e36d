// CLI: `npm run simulate -- --help`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient } from './api-client.js';
import { drivePlan } from './drive.js';
import { formatSummary, runLoad } from './load.js';
import { isScenarioName, planSimulation, SCENARIO_NAMES, type ScenarioName } from './scenarios.js';

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};
const share = (value: string) => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be between 0 and 1');
  return n;
};
const scenarioArg = (value: string): ScenarioName | 'mix' => {
  if (value === 'mix' || isScenarioName(value)) return value;
  throw new InvalidArgumentError(`one of: mix, ${SCENARIO_NAMES.join(', ')}`);
};

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const runTag = () => Date.now().toString(36);

interface Connection {
  api: string;
  apiKey?: string;
  createTenant?: string | boolean;
}

/** The tenant key to use: given, or a new tenant made with the project's admin script. */
async function resolveApiKey(c: Connection): Promise<string> {
  if (c.apiKey) return c.apiKey;
  if (c.createTenant) {
    const name = typeof c.createTenant === 'string' ? c.createTenant : `Simulated Freight ${runTag()}`;
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'admin', '--', 'create-tenant', '--name', name]);
    const created = JSON.parse(stdout) as { tenantId: string; apiKey: string };
    log(`created tenant ${name} (${created.tenantId})`);
    return created.apiKey;
  }
  throw new InvalidArgumentError('an API key is needed: --api-key, SIM_API_KEY, or --create-tenant');
}

function connectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--api <url>', 'base URL of the platform API').env('SIM_API_URL').default(`http://127.0.0.1:${process.env.PORT ?? 3000}`))
    .addOption(new Option('--api-key <key>', "a tenant's admin (or dispatcher) API key").env('SIM_API_KEY'))
    .option('--create-tenant [name]', 'create a fresh tenant with `npm run admin -- create-tenant` and use its key');
}

const program = new Command()
  .name('npm run simulate --')
  .description(
    'Drives simulated trucks through the real ReTrackLogistics API: a fleet, shipments between real European ' +
      'cities and hubs, motorway routes, EU driving-time breaks, GPS noise, tracker gaps and store-and-forward ' +
      'uploads. Everything is reproducible from --seed.',
  )
  .showHelpAfterError();

connectionOptions(
  program
    .command('run', { isDefault: true })
    .description('create a fleet and shipments, drive them with time acceleration, then check each scenario’s milestones and anomalies')
    .option('--seed <seed>', 'seed for fleet, routes and fixes (same seed, same trucks)', 'retrack')
    .option('--vehicles <n>', 'number of trucks (one shipment each)', positive('--vehicles'), 5)
    .option('--scenario <name>', `mix, or one of: ${SCENARIO_NAMES.join(', ')}`, scenarioArg, 'mix')
    .option('--acceleration <x>', 'simulated seconds per real second (60: a 6-hour trip takes 6 minutes)', positive('--acceleration'), 60)
    .option('--min-km <km>', 'shortest trip by road', positive('--min-km'), 120)
    .option('--max-km <km>', 'longest trip by road (over ~600 km trips need an 11-hour rest)', positive('--max-km'), 450)
    .option('--duplicate-rate <p>', 'share of uploads a tracker repeats', share, 0.03)
    .option('--out-of-order-rate <p>', 'share of uploads that arrive after the next one', share, 0.03)
    .option('--progress-every <s>', 'seconds between progress lines', positive('--progress-every'), 10)
    .option('--dry-run', 'print the plan (fleet, routes, expectations) and send nothing')
    .option('--strict', 'exit 1 when a shipment does not show what its scenario should produce'),
).action(async (o) => {
  const plan = planSimulation({
    seed: o.seed,
    vehicles: o.vehicles,
    scenario: o.scenario,
    minKm: o.minKm,
    maxKm: o.maxKm,
    motion: { duplicateRate: o.duplicateRate, outOfOrderRate: o.outOfOrderRate },
  });
  for (const s of plan.shipments) {
    const v = plan.fleet.vehicles[s.vehicleIndex]!;
    log(
      `${s.key} [${s.scenario}] ${v.registration} (${v.device.type}, driver ${v.driver.name}): ` +
        `${s.stops.map((x) => x.place.name).join(' → ')}, ${Math.round(s.route.polyline.lengthM / 1000)} km through ${s.route.placeIds.length - s.stops.length} other places, ` +
        `${(s.trace.endMs / 3600_000).toFixed(1)} h, ${s.trace.fixes.length} fixes in ${s.trace.deliveries.length} uploads ` +
        `→ ${(s.trace.endMs / o.acceleration / 60_000).toFixed(1)} min real`,
    );
  }
  if (o.dryRun) return;
  const apiKey = await resolveApiKey(o);
  const report = await drivePlan({
    client: new ApiClient({ baseUrl: o.api, apiKey }),
    plan,
    acceleration: o.acceleration,
    runTag: runTag(),
    log,
    progressEveryMs: o.progressEvery * 1000,
  });
  for (const c of report.checks) log(`${c.ok ? 'OK  ' : 'MISS'} ${c.key} [${c.scenario}] ${c.shipmentId}${c.ok ? '' : `: ${c.problems.join('; ')}`}`);
  const failed = report.checks.filter((c) => !c.ok).length;
  log(`${report.checks.length - failed}/${report.checks.length} shipments showed what their scenario should produce`);
  if (o.strict && failed > 0) process.exitCode = 1;
});

connectionOptions(
  program
    .command('load')
    .description('load mode: push a target rate of fixes per second for a duration and report throughput, latency and lag')
    .option('--rate <n>', 'target fixes per second', positive('--rate'), 1000)
    .option('--duration <s>', 'seconds to run', positive('--duration'), 60)
    .option('--vehicles <n>', 'trucks (shipments); default: enough trace for the whole run', positive('--vehicles'))
    .option('--batch-size <n>', 'fixes per request (a tracker’s store-and-forward upload)', positive('--batch-size'), 50)
    .option('--concurrency <n>', 'requests in flight at most', positive('--concurrency'), 32)
    .option('--lag-sample-ms <ms>', 'how often to sample end-to-end lag', positive('--lag-sample-ms'), 250)
    .option('--seed <seed>', 'seed for the trucks and their traces', 'load')
    .option('--out <dir>', 'save the JSON summary in this folder (e.g. bench/results); nothing is written without it'),
).action(async (o) => {
  const apiKey = await resolveApiKey(o);
  const interactive = process.stderr.isTTY;
  const summary = await runLoad({
    baseUrl: o.api,
    apiKey,
    ratePerSec: o.rate,
    durationSec: o.duration,
    vehicles: o.vehicles,
    batchSize: Math.round(o.batchSize),
    concurrency: Math.round(o.concurrency),
    seed: o.seed,
    lagSampleEveryMs: o.lagSampleMs,
    ...(o.out ? { outDir: o.out } : {}),
    runTag: runTag(),
    log,
    progress: (line, final) => {
      if (interactive) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      else log(line);
    },
  });
  process.stdout.write(`${formatSummary(summary)}\n`);
});

program.addHelpText(
  'after',
  `
Scenarios: ${SCENARIO_NAMES.join(', ')} (default: a mix).
Time: trips are anchored in the past so the simulated clock reaches the real "now" exactly when a trip ends;
no fix is ever stamped in the future, however strong the acceleration.

Examples:
  npm run simulate -- --create-tenant --vehicles 3 --acceleration 120
  npm run simulate -- run --api-key $KEY --scenario signal-loss --seed demo
  npm run simulate -- run --dry-run --vehicles 10
  npm run simulate -- load --api-key $KEY --rate 2000 --duration 60`,
);

await program.parseAsync();
