// npm run export -- --from 2026-12-01 --to 2026-12-02 [--tenant <id>] [--format parquet|ndjson] [--out DIR] [--full]
//
// Writes positions, shipment_events, stop_visits and eta_predictions of the window (UTC dates,
// both inclusive) as Hive partitions under DIR (default .data/exports), only those that changed
// since this destination last received them; --full rewrites them all. Prints a JSON summary.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase } from '../db/connection.js';
import { EXPORT_TABLE_NAMES, type ExportTableName } from '../db/repositories/exports.js';
import { UUID_PATTERN } from '../db/repositories/pagination.js';
import { EXPORT_FORMATS, runExport, type ExportFormat, type ExportOptions } from '../exports/export.js';
import { createLogger } from '../infra/logger.js';
import { dataDir, redactUrl, toolDatabase } from '../infra/runtime.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const isDate = (value: string) => DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);

export type ExportArgs = Omit<ExportOptions, 'db' | 'logger'>;

/** The command line as export options; throws naming the first bad argument. */
export function parseExportArgs(argv: string[], defaultOut = resolve(dataDir(), 'exports')): ExportArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      tenant: { type: 'string' },
      format: { type: 'string', default: 'parquet' },
      out: { type: 'string' },
      full: { type: 'boolean', default: false },
      tables: { type: 'string' },
    },
    strict: true,
  });
  for (const name of ['from', 'to'] as const) {
    const value = values[name];
    if (value === undefined) throw new Error(`--${name} is required (a UTC date, YYYY-MM-DD)`);
    if (!isDate(value)) throw new Error(`--${name} must be a UTC date YYYY-MM-DD, got "${value}"`);
  }
  if (values.to! < values.from!) throw new Error('--to must not be before --from');
  if (values.tenant !== undefined && !UUID_PATTERN.test(values.tenant)) throw new Error('--tenant must be a tenant id (uuid)');
  if (!(EXPORT_FORMATS as readonly string[]).includes(values.format!)) throw new Error(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  const tables = values.tables?.split(',').map((t) => t.trim());
  const unknown = tables?.find((t) => !(EXPORT_TABLE_NAMES as readonly string[]).includes(t));
  if (unknown !== undefined) throw new Error(`--tables: unknown table "${unknown}" (tables: ${EXPORT_TABLE_NAMES.join(', ')})`);
  return {
    from: values.from!,
    to: values.to!,
    format: values.format as ExportFormat,
    out: resolve(values.out ?? defaultOut),
    full: values.full!,
    ...(values.tenant ? { tenantId: values.tenant.toLowerCase() } : {}),
    ...(tables ? { tables: tables as ExportTableName[] } : {}),
  };
}

async function main(): Promise<void> {
  const args = parseExportArgs(process.argv.slice(2));
  const database = toolDatabase();
  if ('problem' in database) throw new Error(database.problem);
  process.stderr.write(`export: database ${redactUrl(database.url)}, from ${database.source}\n`);
  const db = createDatabase(database.url, { max: 2 });
  try {
    const summary = await runExport({ ...args, db, logger: createLogger({ name: 'export', level: process.env.LOG_LEVEL ?? 'warn' }) });
    process.stdout.write(`${JSON.stringify({ ...summary, files: summary.files.length }, null, 2)}\n`);
  } finally {
    await db.destroy();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
