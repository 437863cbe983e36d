// The dbt project in analytics/ run over the Parquet exports (its default DuckDB target), and the
// marts it builds read back for the headline figures `npm run analytics` prints.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { dbtPath, PROJECT_ROOT } from '../infra/tools.js';

export const ANALYTICS_PROJECT = resolve(PROJECT_ROOT, 'analytics');

export interface DbtRun {
  /** Folder of the Parquet exports the sources read. */
  exportsDir: string;
  /** The DuckDB file the models are built into. */
  databasePath: string;
  /** Where dbt writes its target/ (manifest, docs) and logs. */
  workDir: string;
  /** Build on this Postgres database (schema `analytics`, sources: its live tables) instead of DuckDB. */
  postgresUrl?: string;
}

/** The postgres target's connection, from a postgres:// URL. */
function postgresTarget(url: string): Record<string, string> {
  const parsed = new URL(url);
  return {
    RETRACK_DBT_TARGET: 'postgres',
    RETRACK_PG_HOST: parsed.hostname,
    RETRACK_PG_PORT: parsed.port || '5432',
    RETRACK_PG_USER: decodeURIComponent(parsed.username) || 'postgres',
    RETRACK_PG_PASSWORD: decodeURIComponent(parsed.password),
    RETRACK_PG_DATABASE: parsed.pathname.slice(1) || 'postgres',
  };
}

/** Runs `dbt <args>` on the project; resolves with its exit code and output (stdout and stderr). */
export function runDbt(args: readonly string[], run: DbtRun): Promise<{ code: number | null; output: string }> {
  mkdirSync(dirname(run.databasePath), { recursive: true });
  mkdirSync(run.workDir, { recursive: true });
  const child = spawn(dbtPath(), [...args, '--project-dir', ANALYTICS_PROJECT, '--profiles-dir', ANALYTICS_PROJECT], {
    cwd: ANALYTICS_PROJECT,
    env: {
      ...process.env,
      RETRACK_EXPORTS: resolve(run.exportsDir),
      RETRACK_ANALYTICS_DB: resolve(run.databasePath),
      RETRACK_DBT_TARGET: 'duckdb',
      ...(run.postgresUrl ? postgresTarget(run.postgresUrl) : {}),
      DBT_TARGET_PATH: resolve(run.workDir, 'target'),
      DBT_LOG_PATH: resolve(run.workDir, 'logs'),
      // Nothing leaves the machine: no usage statistics, no version check.
      DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
      DBT_VERSION_CHECK: 'false',
      DBT_USE_COLORS: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, output }));
  });
}

export interface Marts {
  onTime: { dimension: string; dimension_value: string; visits: number; on_time_visits: number; on_time_share: number; mean_lateness_min: number | null }[];
  dwell: { facility: string; visits: number; dwell_p50_min: number; dwell_p90_min: number; dwell_mean_min: number }[];
  laneTransit: { lane: string; trips: number; transit_p50_min: number; transit_p90_min: number; transit_mean_min: number }[];
  etaAccuracy: { horizon_min: number; source: string; samples: number; mae_min: number; bias_min: number; within_tolerance_share: number }[];
}

/** The marts of a built DuckDB file, as plain rows (opened read-only). */
export async function readMarts(databasePath: string): Promise<Marts> {
  const instance = await DuckDBInstance.create(databasePath, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  const read = async <T>(query: string): Promise<T[]> => (await connection.runAndReadAll(query)).getRowObjectsJson() as unknown as T[];
  try {
    return {
      onTime: await read(`select dimension, dimension_value, visits::int as visits, on_time_visits::int as on_time_visits, on_time_share::double as on_time_share,
        mean_lateness_min::double as mean_lateness_min from mart_on_time order by dimension, dimension_value`),
      dwell: await read(`select facility, visits::int as visits, dwell_p50_min::double as dwell_p50_min, dwell_p90_min::double as dwell_p90_min,
        dwell_mean_min::double as dwell_mean_min from mart_dwell_by_facility order by facility`),
      laneTransit: await read(`select lane, trips::int as trips, transit_p50_min::double as transit_p50_min, transit_p90_min::double as transit_p90_min,
        transit_mean_min::double as transit_mean_min from mart_lane_transit order by lane`),
      etaAccuracy: await read(`select horizon_min::int as horizon_min, source, samples::int as samples, mae_min::double as mae_min, bias_min::double as bias_min,
        within_tolerance_share::double as within_tolerance_share from mart_eta_accuracy order by horizon_min, source`),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const pct = (share: number | null | undefined) => (share === null || share === undefined ? '—' : `${(share * 100).toFixed(1)}%`);
const min = (value: number | null | undefined) => (value === null || value === undefined ? '—' : `${value.toFixed(1)} min`);

/** On-time %, dwell p50/p90 per facility, lane transit and ETA MAE by horizon, as text. */
export function formatHeadlines(marts: Marts): string {
  const all = marts.onTime.find((r) => r.dimension === 'all');
  const lines = [`On time: ${pct(all?.on_time_share)} of ${all?.visits ?? 0} stop visits with a window`];
  for (const r of marts.onTime.filter((r) => r.dimension === 'carrier')) lines.push(`  carrier ${r.dimension_value}: ${pct(r.on_time_share)} of ${r.visits}`);
  lines.push('', 'Dwell per facility (p50 / p90):');
  for (const r of marts.dwell) lines.push(`  ${r.facility}: ${min(r.dwell_p50_min)} / ${min(r.dwell_p90_min)} over ${r.visits} visits`);
  lines.push('', 'Lane transit (p50 / p90):');
  for (const r of marts.laneTransit) lines.push(`  ${r.lane}: ${min(r.transit_p50_min)} / ${min(r.transit_p90_min)} over ${r.trips} trips`);
  lines.push('', 'ETA mean absolute error by horizon (model / baseline):');
  for (const horizon of [...new Set(marts.etaAccuracy.map((r) => r.horizon_min))]) {
    const of = (source: string) => marts.etaAccuracy.find((r) => r.horizon_min === horizon && r.source === source);
    lines.push(`  ${horizon >= 60 ? `${horizon / 60} h` : `${horizon} min`}: ${min(of('model')?.mae_min)} / ${min(of('baseline')?.mae_min)} (${of('model')?.samples ?? 0} samples, ${pct(of('model')?.within_tolerance_share)} within ±15 min)`);
  }
  return lines.join('\n');
}
