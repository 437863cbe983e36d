// How fast the analytics routes answer for a tenant with a year of data: a fresh database on the
// machine's Postgres gets `--per-day` generated shipments a day for a year (3 stops each, 20
// carriers, 60 facilities, windows, arrivals and departures; another tenant of the same size
// beside it), then GET /v1/analytics/on-time and /dwell over a real listener: the whole year, one
// month, one carrier, one facility. Prints cold and warm timings; saves JSON only with --out.
//
//   npx tsx bench/analytics.ts [--per-day 300] [--runs 10] [--out bench/results]
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { issueApiKey } from '../api/auth.js';
import { createTenant } from '../db/repositories/tenants.js';
import type { Database } from '../db/schema.js';
import { percentile, round, withBenchApi } from './support.js';

const { values } = parseArgs({
  options: {
    'per-day': { type: 'string', default: '300' },
    runs: { type: 'string', default: '10' },
    out: { type: 'string' },
    'admin-url': { type: 'string', default: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const PER_DAY = Number(values['per-day']);
const RUNS = Number(values.runs);
const DAYS = 365;
const YEAR_START = '2025-12-01T00:00:00Z';


/** A year of one tenant's shipments, stops and carriers, generated inside Postgres. */
async function generateYear(db: Kysely<Database>, tenantId: string): Promise<string[]> {
  const carriers = Array.from({ length: 20 }, () => randomUUID());
  await db
    .insertInto('carriers')
    .values(carriers.map((id, i) => ({ id, tenant_id: tenantId, name: `Carrier ${i + 1}`, updated_at: new Date() })))
    .execute();
  await sql`select setseed(0.42)`.execute(db);
  await sql`
    insert into shipments (id, tenant_id, reference, status, workflow_id, request_hash, carrier_id, route, thresholds, created_at, updated_at)
    select gen_random_uuid(), ${tenantId}::uuid, 'Y-' || n, 'DELIVERED', 'shipment/' || ${tenantId} || '/' || n, 'bench',
           (${sql.val(carriers)}::text[])[1 + n % 20], null, '{}'::jsonb,
           ${YEAR_START}::timestamptz + (n / ${PER_DAY}) * interval '1 day' + (n % ${PER_DAY}) * interval '4 minutes',
           ${YEAR_START}::timestamptz + (n / ${PER_DAY}) * interval '1 day' + interval '20 hours'
    from generate_series(0, ${DAYS * PER_DAY - 1}) n`.execute(db);
  await sql`
    insert into stops (shipment_id, sequence, tenant_id, type, name, lat, lon, geofence_radius_m, window_start, window_end, planned_dwell_min, status, arrived_at, departed_at)
    select s.id, k, s.tenant_id, case k when 1 then 'pickup' else 'delivery' end, 'Facility ' || (1 + (abs(hashtext(s.reference)) + k * 7) % 60),
           45 + k, 4 + k, 300, a.planned - interval '1 hour', a.planned + interval '30 minutes', 30, 'DEPARTED',
           a.planned + (random() * 90 - 30) * interval '1 minute',
           a.planned + (random() * 90 - 30) * interval '1 minute' + (10 + random() * 80) * interval '1 minute'
    from shipments s
    cross join generate_series(1, 3) k
    cross join lateral (select s.created_at + interval '1 hour' + (k - 1) * interval '3 hours' as planned) a
    where s.tenant_id = ${tenantId}::uuid`.execute(db);
  return carriers;
}

await withBenchApi(values['admin-url'], async (db, api) => {
  const loadStarted = performance.now();
  const tenant = await createTenant(db, { name: 'Bench Freight' });
  const neighbour = await createTenant(db, { name: 'Neighbour Freight' });
  const carriers = await generateYear(db, tenant.id);
  await generateYear(db, neighbour.id);
  await sql`analyze`.execute(db);
  const loadSec = Math.round((performance.now() - loadStarted) / 100) / 10;
  const { apiKey } = await issueApiKey(db, { tenantId: tenant.id, role: 'viewer' });
  const counts = await sql<{ shipments: string; visits: string }>`
    select (select count(*) from shipments where tenant_id = ${tenant.id}::uuid)::text as shipments,
           (select count(*) from stops where tenant_id = ${tenant.id}::uuid and arrived_at is not null)::text as visits`.execute(db);

  const get = async (path: string) => (await api.get(path, apiKey)).ms;

  const queries: Record<string, string> = {
    'on-time, whole year': '/v1/analytics/on-time',
    'on-time, one month': '/v1/analytics/on-time?from=2026-06-01T00:00:00Z&to=2026-07-01T00:00:00Z',
    'on-time, one carrier': `/v1/analytics/on-time?carrierId=${carriers[3]}`,
    'on-time, one facility': '/v1/analytics/on-time?facility=Facility%2017',
    'dwell, whole year': '/v1/analytics/dwell',
    'dwell, one month': '/v1/analytics/dwell?from=2026-06-01T00:00:00Z&to=2026-07-01T00:00:00Z',
    'dwell, one carrier': `/v1/analytics/dwell?carrierId=${carriers[3]}`,
  };
  const timings: Record<string, { coldMs: number; p50: number; p95: number }> = {};
  for (const [label, path] of Object.entries(queries)) {
    const cold = await get(path);
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) warm.push(await get(path));
    warm.sort((a, b) => a - b);
    timings[label] = { coldMs: round(cold), p50: round(percentile(warm, 50)), p95: round(percentile(warm, 95)) };
  }

  const result = {
    shipments: Number(counts.rows[0]!.shipments),
    stopVisits: Number(counts.rows[0]!.visits),
    tenants: 2,
    loadSec,
    timingsMs: timings,
    runs: RUNS,
    // Other processes on this shared 2-core machine change the figures: recorded with them.
    loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
    node: process.version,
    at: new Date().toISOString(),
  };
  console.log(`analytics: a year for one tenant (${result.shipments} shipments, ${result.stopVisits} stop visits; a second tenant as large), loaded in ${loadSec} s`);
  for (const [label, t] of Object.entries(timings)) console.log(`  ${label.padEnd(24)} cold ${t.coldMs} ms, warm p50 ${t.p50} / p95 ${t.p95} ms`);
  console.log(`  machine load average (1 min): ${result.loadAverage1m} on ${availableParallelism()} cores`);
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    const file = join(values.out, `analytics-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`  saved ${file}`);
  }
});
