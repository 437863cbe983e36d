// Bulk exports: positions, shipment events, stop visits and ETA predictions as Hive-partitioned
// Parquet or NDJSON files (`table/tenant_id=…/date=…/part-<run>.parquet`) that DuckDB, Spark,
// Athena, BigQuery and Snowflake external stages read as they are.
//
// Incremental by partition: Postgres records, per destination, each partition written with its
// row count, the latest change among its rows and, for stop visits, a checksum of their values
// (export_partitions). A run writes only the partitions of its window that changed since (new
// fixes, a stop reached, a late event, a carrier assigned), and
// writing a partition replaces its previous file, so a re-run never duplicates a row. `full`
// rewrites every partition of the window.
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DuckDBInstance, DuckDBTimestampTZValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { sql, type Kysely } from 'kysely';
import {
  EXPORT_TABLE_NAMES,
  exportColumns,
  partitionRows,
  partitionsToExport,
  recordPartition,
  type ExportColumn,
  type ExportRow,
  type ExportTableName,
  type ExportWindow,
} from '../db/repositories/exports.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../infra/logger.js';

export const EXPORT_FORMATS = ['parquet', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions extends ExportWindow {
  db: Kysely<Database>;
  /** Output folder; created when missing. */
  out: string;
  format: ExportFormat;
  /** Rewrite every partition of the window, changed or not. */
  full?: boolean;
  tables?: readonly ExportTableName[];
  logger?: Logger;
}

export interface TableSummary {
  partitions: number;
  rows: number;
}

export interface ExportSummary {
  destination: string;
  format: ExportFormat;
  window: { from: string; to: string; tenantId?: string };
  tables: Record<ExportTableName, TableSummary>;
  /** Files written by this run, relative to the destination. */
  files: string[];
}

export class ExportBusyError extends Error {
  constructor(destination: string) {
    super(`another export is writing to ${destination}; try again when it has finished`);
  }
}

const EXTENSION: Record<ExportFormat, string> = { parquet: 'parquet', ndjson: 'ndjson' };
const COPY_OPTIONS: Record<ExportFormat, string> = {
  parquet: "FORMAT parquet, COMPRESSION zstd",
  // Newline-delimited JSON objects, times as ISO 8601 UTC.
  ndjson: "FORMAT json, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ'",
};

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

function appendValue(appender: DuckDBAppender, column: ExportColumn, value: ExportRow[string]): void {
  if (value === null || value === undefined) return appender.appendNull();
  switch (column.type) {
    case 'VARCHAR':
      return appender.appendVarchar(typeof value === 'string' ? value : JSON.stringify(value));
    case 'BIGINT':
      return appender.appendBigInt(BigInt(value as string | number));
    case 'INTEGER':
      return appender.appendInteger(Number(value));
    case 'DOUBLE':
      return appender.appendDouble(Number(value));
    case 'BOOLEAN':
      return appender.appendBoolean(Boolean(value));
    case 'TIMESTAMPTZ':
      return appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(value as string)));
  }
}

/** Writes the rows into `path` through a DuckDB table of the export's column types; returns the row count. */
async function writePartitionFile(duck: DuckDBConnection, columns: ExportColumn[], pages: AsyncIterable<ExportRow[]>, path: string, format: ExportFormat): Promise<number> {
  await duck.run(`create or replace temp table part (${columns.map((c) => `${quote(c.name)} ${c.type}`).join(', ')})`);
  const appender = await duck.createAppender('part');
  let rows = 0;
  try {
    for await (const page of pages) {
      for (const row of page) {
        for (const column of columns) appendValue(appender, column, row[column.name] ?? null);
        appender.endRow();
      }
      appender.flushSync();
      rows += page.length;
    }
  } finally {
    appender.closeSync();
  }
  await duck.run(`copy part to '${path.replace(/'/g, "''")}' (${COPY_OPTIONS[format]})`);
  await duck.run('drop table part');
  return rows;
}

/**
 * Replaces the partition folder's part files with the one just written (renamed into place last);
 * a temporary file left by an interrupted run goes too.
 */
function replacePartFiles(dir: string, tmp: string, final: string): void {
  for (const name of readdirSync(dir)) if (name.startsWith('part-') || (name.startsWith('.part-') && join(dir, name) !== tmp)) rmSync(join(dir, name));
  renameSync(tmp, final);
}

export async function runExport(options: ExportOptions): Promise<ExportSummary> {
  const destination = resolve(options.out);
  const to = { destination, format: options.format };
  const tables = options.tables ?? EXPORT_TABLE_NAMES;
  const window: ExportWindow = { from: options.from, to: options.to, ...(options.tenantId ? { tenantId: options.tenantId } : {}) };
  const run = `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
  mkdirSync(destination, { recursive: true });

  // One run per destination at a time: the lock lives as long as this connection's session.
  return options.db.connection().execute(async (db) => {
    const lockKey = sql`hashtextextended(${`export:${destination}:${options.format}`}, 0)`;
    const { rows: locked } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${lockKey}) as ok`.execute(db);
    if (!locked[0]?.ok) throw new ExportBusyError(destination);
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const duck = await instance.connect();
    try {
      await duck.run("set TimeZone = 'UTC'");
      const summary: ExportSummary = { destination, format: options.format, window, tables: {} as ExportSummary['tables'], files: [] };
      for (const table of tables) {
        const columns = exportColumns(table);
        const partitions = await partitionsToExport(db, table, window, to, options.full ?? false);
        const totals: TableSummary = { partitions: 0, rows: 0 };
        for (const partition of partitions) {
          const dir = join(destination, table, `tenant_id=${partition.tenantId}`, `date=${partition.date}`);
          mkdirSync(dir, { recursive: true });
          const final = join(dir, `part-${run}.${EXTENSION[options.format]}`);
          const tmp = join(dir, `.part-${run}.${EXTENSION[options.format]}.tmp`);
          const rows = await writePartitionFile(duck, columns, partitionRows(db, table, partition.tenantId, partition.date), tmp, options.format);
          replacePartFiles(dir, tmp, final);
          const file = relative(destination, final);
          await recordPartition(db, to, table, partition, { rows, file });
          options.logger?.info({ table, tenantId: partition.tenantId, date: partition.date, rows, file }, 'export partition written');
          summary.files.push(file);
          totals.partitions += 1;
          totals.rows += rows;
        }
        summary.tables[table] = totals;
      }
      return summary;
    } finally {
      duck.closeSync();
      instance.closeSync();
      await sql`select pg_advisory_unlock(${lockKey})`.execute(db);
    }
  });
}
