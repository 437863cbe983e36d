// ETA accuracy, model versus the naive baseline: mean absolute error and share within ±15 min at
// 30 min, 1 h, 2 h and 4 h before the real arrival. Prints a table; `--out <folder>` also saves
// the JSON there (e.g. bench/results).
//
//   npm run eta:report                          # delivered shipments in DATABASE_URL, else npm start's database
//   npm run eta:report -- --tenant <tenantId>   # one tenant's
//   npm run eta:report -- --simulate 60         # 60 simulated trips replayed through the real
//                                               # prediction code; no database or server needed
//   options: --seed <seed> (simulation), --since <ISO time> (database), --out <folder>
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase } from '../db/connection.js';
import { loadAccuracyData } from '../db/repositories/eta.js';
import { computeEtaAccuracy, type AccuracyStats, type EtaAccuracyReport } from '../domain/eta/index.js';
import { redactUrl, toolDatabase } from '../infra/runtime.js';
import { simulateEtaData } from '../simulator/eta-replay.js';

export interface EtaReportFile {
  generatedAt: string;
  source: 'database' | 'simulation';
  /** Delivered shipments (or simulated trips) measured. */
  shipments: number;
  arrivals: number;
  predictions: number;
  simulation?: { seed: string; trips: number; scenarios: Record<string, number> };
  report: EtaAccuracyReport;
}

const minutes = (value: number | null) => (value === null ? '—' : `${value.toFixed(1)} min`);
const share = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);

export function formatEtaReport(file: EtaReportFile): string {
  const { report } = file;
  const title =
    file.source === 'simulation'
      ? `ETA accuracy over ${file.shipments} delivered simulated trips (seed ${file.simulation!.seed}; ${file.arrivals} stop arrivals)`
      : `ETA accuracy over ${file.shipments} delivered shipments (${file.arrivals} stop arrivals)`;
  const header = ['horizon', 'samples', 'model MAE', `model ±${report.toleranceMin}`, 'baseline MAE', `baseline ±${report.toleranceMin}`];
  const rows = report.horizons.map((h) => {
    const model: AccuracyStats | undefined = h.bySource.model;
    const baseline: AccuracyStats | undefined = h.bySource.baseline;
    const label = h.horizonMin >= 60 ? `${h.horizonMin / 60} h` : `${h.horizonMin} min`;
    return [label, String(model?.samples ?? 0), minutes(model?.meanAbsoluteErrorMin ?? null), share(model?.withinToleranceShare ?? null), minutes(baseline?.meanAbsoluteErrorMin ?? null), share(baseline?.withinToleranceShare ?? null)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ');
  return [title, '', line(header), ...rows.map(line)].join('\n');
}

export async function buildEtaReport(options: { simulate?: number; seed?: string; tenantId?: string; since?: string; databaseUrl?: string }): Promise<EtaReportFile> {
  const generatedAt = new Date().toISOString();
  if (options.simulate !== undefined) {
    const data = simulateEtaData({ trips: options.simulate, seed: options.seed });
    return {
      generatedAt,
      source: 'simulation',
      shipments: data.delivered,
      arrivals: data.arrivals.length,
      predictions: data.predictions.length,
      simulation: { seed: data.seed, trips: data.trips, scenarios: data.scenarios },
      report: computeEtaAccuracy(data.predictions, data.arrivals),
    };
  }
  const db = createDatabase(options.databaseUrl ?? reportDatabaseUrl(), { max: 2 });
  try {
    const data = await loadAccuracyData(db, { tenantId: options.tenantId, since: options.since });
    return {
      generatedAt,
      source: 'database',
      shipments: data.shipments,
      arrivals: data.arrivals.length,
      predictions: data.predictions.length,
      report: computeEtaAccuracy(data.predictions, data.arrivals),
    };
  } finally {
    await db.destroy();
  }
}

/** DATABASE_URL, else the database of the running `npm start`; stderr says which. */
function reportDatabaseUrl(): string {
  const database = toolDatabase();
  if ('problem' in database) throw new Error(database.problem);
  process.stderr.write(`eta:report: database ${redactUrl(database.url)}, from ${database.source}\n`);
  return database.url;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { simulate: { type: 'string' }, seed: { type: 'string' }, tenant: { type: 'string' }, since: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  const simulate = values.simulate === undefined ? undefined : Number(values.simulate);
  if (simulate !== undefined && !(Number.isInteger(simulate) && simulate > 0)) throw new Error('--simulate takes a positive number of trips');
  const file = await buildEtaReport({ simulate, seed: values.seed, tenantId: values.tenant, since: values.since });
  process.stdout.write(`${formatEtaReport(file)}\n`);
  if (!values.out) return;
  const folder = resolve(values.out);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `eta-report-${file.source}-${file.generatedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  process.stdout.write(`\nsaved ${path}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
