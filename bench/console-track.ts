// How fast the console opens a long shipment: 20,000 fixes (a week of an ELD reporting every 30 s)
// stored in a fresh database on the machine's Postgres, then the shipment page's reads over a real
// listener: GET /v1/shipments/:id/map (the whole track, split at gaps and simplified to the point
// budget server-side), /eta-history and /timeline. Prints cold and warm timings, the payload and
// the vertices drawn; saves JSON under bench/results only with --out.
//
//   npx tsx bench/console-track.ts [--fixes 20000] [--runs 20] [--out bench/results]
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { issueApiKey } from '../api/auth.js';
import { fixToRow, insertPositions } from '../db/repositories/positions.js';
import { insertShipment } from '../db/repositories/shipments.js';
import { createTenant } from '../db/repositories/tenants.js';
import { simplifyTrack, toVertex } from '../domain/track.js';
import { percentile, round, withBenchApi } from './support.js';

const { values } = parseArgs({
  options: {
    fixes: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '20' },
    out: { type: 'string' },
    'admin-url': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const FIXES = Number(values.fixes);
const RUNS = Number(values.runs);


/** A week-long trip north from Lyon: 30-second fixes, GPS noise, a 2-hour silence every 5,000 fixes. */
function week(count: number) {
  const start = Date.now() - count * 30_000 - 60 * 60_000 * (count / 5000) * 2;
  let t = start;
  return Array.from({ length: count }, (_, i) => {
    t += 30_000 + (i > 0 && i % 5000 === 0 ? 2 * 3600_000 : 0);
    const noise = () => (Math.sin(i * 12.9898) * 43758.5453) % 1e-4;
    return { recordedAt: new Date(t).toISOString(), lat: 45.75 + i * 0.0002 + noise(), lon: 4.85 + 0.05 * Math.sin(i / 500) + noise(), speedKmh: 80 };
  });
}

await withBenchApi(values['admin-url'], async (db, api) => {
  const tenant = await createTenant(db, { name: 'Bench Freight' });
  const { apiKey } = await issueApiKey(db, { tenantId: tenant.id, role: 'viewer' });
  const shipmentId = randomUUID();
  await insertShipment(
    db,
    { id: shipmentId, tenant_id: tenant.id, reference: 'BENCH-1', status: 'IN_TRANSIT', workflow_id: `shipment/${tenant.id}/${shipmentId}`, request_hash: 'bench', route: null, thresholds: {}, updated_at: new Date() },
    [
      { shipment_id: shipmentId, tenant_id: tenant.id, sequence: 1, type: 'pickup', name: 'Lyon DC', lat: 45.75, lon: 4.85, geofence_radius_m: 500 },
      { shipment_id: shipmentId, tenant_id: tenant.id, sequence: 2, type: 'delivery', name: 'Far away', lat: 49.75, lon: 4.85, geofence_radius_m: 500 },
    ],
  );
  const fixes = week(FIXES);
  for (let i = 0; i < fixes.length; i += 1000) {
    await insertPositions(db, fixes.slice(i, i + 1000).map((f) => fixToRow(f, { tenantId: tenant.id, shipmentId, deviceId: null })));
  }

  const get = (path: string) => api.get(path, apiKey);

  const page = async () => {
    const started = performance.now();
    const [map] = await Promise.all([get(`/v1/shipments/${shipmentId}/map`), get(`/v1/shipments/${shipmentId}/eta-history`), get(`/v1/shipments/${shipmentId}/timeline?limit=500`)]);
    return { pageMs: performance.now() - started, map };
  };
  const cold = await page();
  const warm: number[] = [];
  const mapWarm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await page();
    warm.push(run.pageMs);
    mapWarm.push(run.map.ms);
  }
  warm.sort((a, b) => a - b);
  mapWarm.sort((a, b) => a - b);
  const layers = JSON.parse(cold.map.body) as { fixes: number; vertices: number };

  const vertices = fixes.map(toVertex);
  const simplifyRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    simplifyTrack(vertices, { gapMs: 30 * 60_000, maxPoints: 2_000 });
    simplifyRuns.push(performance.now() - started);
  }
  simplifyRuns.sort((a, b) => a - b);

  const result = {
    fixes: layers.fixes,
    verticesDrawn: layers.vertices,
    mapPayloadKiB: Math.round(cold.map.bytes / 1024),
    coldPageMs: round(cold.pageMs),
    coldMapMs: round(cold.map.ms),
    warmPageMs: { p50: round(percentile(warm, 50)), p95: round(percentile(warm, 95)), max: round(warm.at(-1)!) },
    warmMapMs: { p50: round(percentile(mapWarm, 50)), p95: round(percentile(mapWarm, 95)) },
    simplifyOnlyMs: { p50: round(percentile(simplifyRuns, 50)), p95: round(percentile(simplifyRuns, 95)) },
    runs: RUNS,
    // Other processes on this shared 2-core machine change the figures: recorded with them.
    loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
    node: process.version,
    at: new Date().toISOString(),
  };
  console.log(`console track: ${result.fixes} fixes -> ${result.verticesDrawn} vertices, map payload ${result.mapPayloadKiB} KiB`);
  console.log(`  shipment page reads (map + eta-history + timeline): cold ${result.coldPageMs} ms, warm p50 ${result.warmPageMs.p50} / p95 ${result.warmPageMs.p95} ms`);
  console.log(`  machine load average (1 min): ${result.loadAverage1m} on ${availableParallelism()} cores`);
  console.log(`  GET /map alone: cold ${result.coldMapMs} ms, warm p50 ${result.warmMapMs.p50} / p95 ${result.warmMapMs.p95} ms; simplification alone p50 ${result.simplifyOnlyMs.p50} ms`);
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    const file = join(values.out, `console-track-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`  saved ${file}`);
  }
});
