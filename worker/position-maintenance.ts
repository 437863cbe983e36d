// The worker's upkeep of the positions partitions (db/repositories/position-partitions.ts), at
// start and then every POSITIONS_MAINTENANCE_INTERVAL_MINUTES: months ahead created, fixes that
// landed in the default partition moved into a month of their own, months past
// POSITIONS_RETENTION_MONTHS dropped once exported. Any number of workers may run it: one at a
// time holds the advisory lock, the others skip that round.
import type { Kysely } from 'kysely';
import {
  DEFAULT_ON_DEMAND_MONTHS_BACK,
  addMonths,
  dropExportedPartitions,
  ensurePositionPartitions,
  monthOf,
  retentionCutoffMonth,
  withPartitionMaintenanceLock,
  type EnsureResult,
  type RetentionResult,
} from '../db/repositories/position-partitions.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../infra/logger.js';
import { startPeriodic, type PeriodicJob } from '../infra/periodic.js';

export interface PositionMaintenanceSettings {
  monthsAhead: number;
  /** 0 keeps every month. */
  retentionMonths: number;
  exportDestination?: string;
  lockTimeoutMs?: number;
}

export type PositionMaintenanceResult = { skipped: true } | { skipped: false; ensure: EnsureResult; retention: RetentionResult };

export async function maintainPositionPartitions(db: Kysely<Database>, settings: PositionMaintenanceSettings, logger: Logger, now = new Date()): Promise<PositionMaintenanceResult> {
  const outcome = await withPartitionMaintenanceLock(db, async (conn) => {
    // With retention, months before the cutoff are not re-created for fixes found in the default
    // partition (the API refuses fixes that old; older rows stay where they are).
    const oldestMonth = settings.retentionMonths > 0 ? retentionCutoffMonth(now, settings.retentionMonths) : addMonths(monthOf(now), -DEFAULT_ON_DEMAND_MONTHS_BACK);
    const lock = settings.lockTimeoutMs !== undefined ? { lockTimeoutMs: settings.lockTimeoutMs } : {};
    const ensure = await ensurePositionPartitions(conn, { now, monthsAhead: settings.monthsAhead, oldestMonth, ...lock });
    const retention = await dropExportedPartitions(conn, {
      now,
      retentionMonths: settings.retentionMonths,
      ...(settings.exportDestination !== undefined ? { destination: settings.exportDestination } : {}),
      ...lock,
    });
    return { ensure, retention };
  });
  if (!outcome) {
    logger.debug('positions partitions: another process is maintaining them; skipped');
    return { skipped: true };
  }
  const { ensure, retention } = outcome;
  for (const created of ensure.created) logger.info({ month: created.month, movedRows: created.movedRows }, 'positions partition created');
  for (const failed of ensure.failed) logger.warn({ month: failed.month, error: failed.error }, 'positions partition not created; retrying on the next run');
  const leftRows = ensure.leftInDefault.reduce((n, m) => n + m.rows, 0);
  if (leftRows > 0) logger.info({ rows: leftRows, months: ensure.leftInDefault.map((m) => m.month) }, 'positions default partition keeps fixes of months outside the partitioned range');
  for (const dropped of retention.dropped) logger.info({ month: dropped.month, rows: dropped.rows, retentionMonths: settings.retentionMonths }, 'positions partition dropped: past retention and exported');
  for (const kept of retention.kept) {
    logger.warn({ month: kept.month, rows: kept.rows, unexportedDays: kept.unexportedDays, tenantIds: kept.tenants, retentionMonths: settings.retentionMonths }, 'positions partition past retention kept: not every tenant-day is exported as it is now');
  }
  for (const failed of retention.failed) logger.warn({ month: failed.month, error: failed.error }, 'positions partition past retention not dropped; retrying on the next run');
  return { skipped: false, ensure, retention };
}

export function startPositionMaintenance(db: Kysely<Database>, settings: PositionMaintenanceSettings & { intervalMs: number }, logger: Logger): PeriodicJob {
  return startPeriodic(() => maintainPositionPartitions(db, settings, logger), { intervalMs: settings.intervalMs, logger, name: 'positions partition maintenance', runAtStart: true });
}
