// npm run analytics [-- --tenant <id>] [--docs]
//
// Exports everything new into .data/exports (Parquet, incremental), runs `dbt build` on the
// analytics/ project (DuckDB file .data/analytics/retrack.duckdb) and prints the marts' headline
// figures: on-time %, dwell p50/p90 per facility, lane transit, ETA MAE by horizon. `--docs` also
// runs `dbt docs generate` (.data/analytics/target/index.html).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase } from '../db/connection.js';
import { EXPORT_TABLE_NAMES } from '../db/repositories/exports.js';
import { UUID_PATTERN } from '../db/repositories/pagination.js';
import { formatHeadlines, readMarts, runDbt } from '../exports/analytics.js';
import { runExport } from '../exports/export.js';
import { dataDir, redactUrl, toolDatabase } from '../infra/runtime.js';

/** The first day any export window needs: exports are incremental, so a wide window costs little. */
const FIRST_DAY = '2000-01-01';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tenant: { type: 'string' }, docs: { type: 'boolean', default: false } }, strict: true });
  if (values.tenant !== undefined && !UUID_PATTERN.test(values.tenant)) throw new Error('--tenant must be a tenant id (uuid)');
  const database = toolDatabase();
  if ('problem' in database) throw new Error(database.problem);
  process.stderr.write(`analytics: database ${redactUrl(database.url)}, from ${database.source}\n`);

  const exportsDir = resolve(dataDir(), 'exports');
  const workDir = resolve(dataDir(), 'analytics');
  const run = { exportsDir, workDir, databasePath: resolve(workDir, 'retrack.duckdb') };
  const db = createDatabase(database.url, { max: 2 });
  try {
    const summary = await runExport({ db, out: exportsDir, format: 'parquet', from: FIRST_DAY, to: new Date().toISOString().slice(0, 10), ...(values.tenant ? { tenantId: values.tenant } : {}) });
    const written = Object.entries(summary.tables).map(([table, t]) => `${table} ${t.partitions} partitions / ${t.rows} rows`);
    process.stderr.write(`analytics: exported to ${exportsDir}: ${written.join(', ')}\n`);
    // The sources are one glob per table: each needs at least one file to read.
    const empty = EXPORT_TABLE_NAMES.filter((table) => !existsSync(resolve(exportsDir, table)));
    if (empty.length > 0) throw new Error(`nothing exported yet for ${empty.join(', ')}: drive some trips first (npm start -- --demo, or npm run simulate) and run this again`);
  } finally {
    await db.destroy();
  }

  for (const command of values.docs ? [['build'], ['docs', 'generate']] : [['build']]) {
    const result = await runDbt(command, run);
    if (result.code !== 0) throw new Error(`dbt ${command.join(' ')} failed (exit ${result.code}):\n${result.output}`);
    process.stderr.write(`analytics: dbt ${command.join(' ')} passed\n`);
  }
  process.stdout.write(`${formatHeadlines(await readMarts(run.databasePath))}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
