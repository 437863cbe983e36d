// The history-aware ETA measured honestly: simulated trips through a world with facility dwell and
// traffic by place and hour of week (simulator/patterns.ts) are split into a history half (one
// seed, four weeks) that is learned from as the scheduled refresh would, and a held-out half
// (another seed, the four weeks after) that is only predicted: the naive baseline, today's model
// (its speed prior learned from the history half) and the history-aware model, each replayed at the
// workflow's schedule through the activity's own prediction code. MAE and share within ±15 min at
// 30 min, 1 h, 2 h and 4 h before each real arrival. Prints a table; `--out` saves the JSON.
//
//   npx tsx bench/eta-history.ts [--history 300] [--held-out 120] [--world retrack-world]
//     [--history-seed eta-history] [--held-out-seed eta-held-out] [--min-shipments 20] [--out bench/results]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { computeEtaAccuracy, DEFAULT_ETA_HISTORY, type AccuracyStats, type EtaAccuracyReport } from '../domain/eta/index.js';
import { simulateEtaHistoryBench, type EtaHistoryBenchData } from '../simulator/eta-replay.js';

export interface EtaHistoryBenchFile extends Omit<EtaHistoryBenchData, 'predictions' | 'arrivals'> {
  generatedAt: string;
  world: string;
  config: { minShipments: number; minFacilityVisits: number; minCellMovingMin: number; cellDeg: number };
  arrivals: number;
  predictions: number;
  report: EtaAccuracyReport;
  /** History-aware MAE against the baseline's and today's model's, per horizon (negative: lower). */
  comparison: { horizonMin: number; vsBaselinePct: number | null; vsModelPct: number | null }[];
  elapsedSec: number;
}

const SOURCES = [
  ['baseline', 'baseline'],
  ['model', "today's model"],
  ['history', 'history-aware'],
] as const;

const minutes = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `${value.toFixed(1)} min`);
const share = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `${Math.round(value * 100)}%`);

export function formatEtaHistoryBench(file: EtaHistoryBenchFile): string {
  const header = ['horizon', 'samples', ...SOURCES.flatMap(([, label]) => [`${label} MAE`, '±15'])];
  const rows = file.report.horizons.map((h) => {
    const label = h.horizonMin >= 60 ? `${h.horizonMin / 60} h` : `${h.horizonMin} min`;
    const stats = (source: string): AccuracyStats | undefined => h.bySource[source];
    return [label, String(stats('history')?.samples ?? 0), ...SOURCES.flatMap(([source]) => [minutes(stats(source)?.meanAbsoluteErrorMin), share(stats(source)?.withinToleranceShare)])];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ');
  const f = file.history.figures;
  return [
    `History: ${file.history.delivered} delivered of ${file.history.trips} trips (seed ${file.history.seed}); ${f.facilitiesAboveThreshold} of ${f.facilities} facilities with ≥ ${file.config.minFacilityVisits} visits, ${f.cells} cells, ${f.cellHours} cell-hours${file.historyUsed ? '' : ' — below the threshold: history-aware = today’s model'}`,
    `Held out: ${file.heldOut.delivered} delivered of ${file.heldOut.trips} trips (seed ${file.heldOut.seed}); ${file.arrivals} arrivals`,
    '',
    line(header),
    ...rows.map(line),
    '',
    ...file.comparison.map((c) => `${c.horizonMin} min: history-aware MAE ${c.vsBaselinePct === null ? '—' : `${c.vsBaselinePct.toFixed(0)}%`} vs baseline, ${c.vsModelPct === null ? '—' : `${c.vsModelPct.toFixed(0)}%`} vs today's model`),
  ].join('\n');
}

export function runEtaHistoryBench(options: { world: string; historySeed: string; historyTrips: number; heldOutSeed: string; heldOutTrips: number; minShipments?: number }): EtaHistoryBenchFile {
  const started = Date.now();
  const config = { ...DEFAULT_ETA_HISTORY, ...(options.minShipments !== undefined ? { minShipments: options.minShipments } : {}) };
  const { predictions, arrivals, figures: _figures, ...data } = simulateEtaHistoryBench({ ...options, config });
  const report = computeEtaAccuracy(predictions, arrivals);
  const pct = (a: number | null | undefined, b: number | null | undefined) => (a === null || a === undefined || !b ? null : ((a - b) / b) * 100);
  return {
    generatedAt: new Date().toISOString(),
    world: options.world,
    config: { minShipments: config.minShipments, minFacilityVisits: config.minFacilityVisits, minCellMovingMin: config.minCellMovingMin, cellDeg: config.cellDeg },
    ...data,
    arrivals: arrivals.length,
    predictions: predictions.length,
    report,
    comparison: report.horizons.map((h) => ({
      horizonMin: h.horizonMin,
      vsBaselinePct: pct(h.bySource.history?.meanAbsoluteErrorMin, h.bySource.baseline?.meanAbsoluteErrorMin),
      vsModelPct: pct(h.bySource.history?.meanAbsoluteErrorMin, h.bySource.model?.meanAbsoluteErrorMin),
    })),
    elapsedSec: (Date.now() - started) / 1000,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      history: { type: 'string', default: '300' },
      'held-out': { type: 'string', default: '120' },
      world: { type: 'string', default: 'retrack-world' },
      'history-seed': { type: 'string', default: 'eta-history' },
      'held-out-seed': { type: 'string', default: 'eta-held-out' },
      'min-shipments': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const file = runEtaHistoryBench({
    world: values.world!,
    historySeed: values['history-seed']!,
    historyTrips: Number(values.history),
    heldOutSeed: values['held-out-seed']!,
    heldOutTrips: Number(values['held-out']),
    ...(values['min-shipments'] ? { minShipments: Number(values['min-shipments']) } : {}),
  });
  process.stdout.write(`${formatEtaHistoryBench(file)}\n`);
  if (!values.out) return;
  const folder = resolve(values.out);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `eta-history-${file.generatedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  process.stdout.write(`\nsaved ${path}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
