// Micro-benchmark of the pure rules the shipment workflow runs per fix (milestones, then the
// anomaly detectors), over the simulator's trips, replayed as the workflow sees them (uploads in
// send order, stale fixes dropped). No Temporal, no database: this is the workflow thread's own
// CPU per fix, minus the sandbox's overhead. Prints µs per fix; `--out` also saves the JSON.
//
//   npx tsx bench/workflow-rules.ts [--trips 40] [--rounds 5] [--seed workflow-rules] [--label before] [--out bench/results]
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAnomalyContext, detectAnomalies, initialAnomalyState, type AnomalyInput } from '../domain/anomalies/index.js';
import { detectOffRoute } from '../domain/anomalies/off-route.js';
import { prepareFixBatch } from '../domain/fixes.js';
import { applyFix, initialTrackingState } from '../domain/milestones.js';
import type { Fix, StopPlan } from '../domain/types.js';
import { toFix } from '../simulator/motion.js';
import { planSimulation, plannedRoute, stopPlansOf, type ShipmentSpec } from '../simulator/scenarios.js';

const { values: args } = parseArgs({
  options: {
    trips: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '5' },
    seed: { type: 'string', default: 'workflow-rules' },
    label: { type: 'string', default: '' },
    out: { type: 'string' },
  },
});

const EPOCH_MS = Date.parse('2026-01-05T06:00:00.000Z');

interface PreparedTrip {
  stops: StopPlan[];
  ctx: ReturnType<typeof createAnomalyContext>;
  /** The fresh fixes of each upload, as processQueue drains them. */
  batches: Fix[][];
}

function prepareTrip(spec: ShipmentSpec, tripStartMs: number): PreparedTrip {
  const stops = stopPlansOf(spec, tripStartMs);
  const ctx = createAnomalyContext({ stops, route: plannedRoute(spec.route), thresholds: spec.thresholds });
  const batches: Fix[][] = [];
  let lastFixAt: string | undefined;
  for (const delivery of [...spec.trace.deliveries].sort((a, b) => a.sendAtMs - b.sendAtMs)) {
    const fresh = prepareFixBatch(delivery.fixes.map((f) => toFix(f, tripStartMs)), lastFixAt).fresh;
    if (fresh.length === 0) continue;
    batches.push(fresh);
    lastFixAt = fresh.at(-1)!.recordedAt;
  }
  return { stops, ctx, batches };
}

/** One pass over every trip; returns the time spent in each part, ms. */
function runRound(trips: readonly PreparedTrip[]): { rulesMs: number; offRouteMs: number; fixes: number; events: number } {
  let rulesMs = 0;
  let offRouteMs = 0;
  let fixes = 0;
  let events = 0;
  for (const trip of trips) {
    let tracking = initialTrackingState(trip.stops);
    let anomalies = initialAnomalyState();
    let offRoute = anomalies.offRoute;
    for (const batch of trip.batches) {
      const started = performance.now();
      const offRouteInputs: AnomalyInput[] = [];
      for (const fix of batch) {
        const tracked = applyFix(tracking, fix, trip.stops);
        tracking = tracked.state;
        const inputs: AnomalyInput[] = [...tracked.events.filter((e) => e.kind === 'milestone'), { kind: 'fix', fix }];
        for (const input of inputs) {
          const result = detectAnomalies(anomalies, input, trip.ctx);
          anomalies = result.state;
          events += result.events.length;
        }
        offRouteInputs.push(...inputs);
        fixes += 1;
      }
      rulesMs += performance.now() - started;
      // The off-route detector alone, on the same inputs and its own state (its share of the above).
      const offStarted = performance.now();
      for (const input of offRouteInputs) offRoute = detectOffRoute(offRoute, input, trip.ctx).state;
      offRouteMs += performance.now() - offStarted;
    }
  }
  return { rulesMs, offRouteMs, fixes, events };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const plan = planSimulation({ seed: args.seed, vehicles: Number(args.trips), scenario: 'mix' });
const trips = plan.shipments.map((spec, i) => prepareTrip(spec, EPOCH_MS + i * 24 * 3600_000));
const vertices = trips.map((t) => t.ctx.route?.coordinates.length ?? 0);
runRound(trips); // warm-up: JIT
const rounds = Array.from({ length: Number(args.rounds) }, () => runRound(trips));
const fixes = rounds[0]!.fixes;
const rulesUsPerFix = median(rounds.map((r) => (r.rulesMs * 1000) / r.fixes));
const offRouteUsPerFix = median(rounds.map((r) => (r.offRouteMs * 1000) / r.fixes));

const commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
const dirty = execSync('git status --porcelain -- domain', { encoding: 'utf8' }).trim() !== '';
const result = {
  benchmark: 'workflow-rules',
  at: new Date().toISOString(),
  commit: dirty ? `${commit}+domain changes` : commit,
  label: args.label,
  node: process.version,
  seed: args.seed,
  trips: trips.length,
  scenarios: plan.shipments.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.scenario]: (acc[s.scenario] ?? 0) + 1 }), {}),
  fixesPerRound: fixes,
  anomalyEventsPerRound: rounds[0]!.events,
  routeVertices: { min: Math.min(...vertices), max: Math.max(...vertices), mean: Math.round(vertices.reduce((a, b) => a + b, 0) / vertices.length) },
  rounds: rounds.length,
  usPerFix: { rules: Number(rulesUsPerFix.toFixed(2)), offRouteOnly: Number(offRouteUsPerFix.toFixed(2)) },
  roundsUsPerFix: rounds.map((r) => Number(((r.rulesMs * 1000) / r.fixes).toFixed(2))),
};

function save(folder: string): string {
  const tag = result.at.replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `workflow-rules-${tag}${args.label ? `-${args.label}` : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return `saved ${file}`;
}

console.log(`${trips.length} trips, ${fixes} fixes, route vertices ${result.routeVertices.min}–${result.routeVertices.max} (mean ${result.routeVertices.mean})`);
console.log(`milestones + anomalies: ${result.usPerFix.rules} µs per fix (median of ${rounds.length} rounds); off-route detector alone: ${result.usPerFix.offRouteOnly} µs per fix`);
console.log(`anomaly events per round: ${result.anomalyEventsPerRound}; ${args.out ? save(args.out) : 'not saved (--out bench/results keeps the JSON)'}`);
