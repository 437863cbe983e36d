// Every migration, in order. A static list (not a folder scan) so it works the same under tsx, bundlers and Docker.
import type { Migration } from 'kysely';
import * as initial from './2026_11_26_0001_initial.js';
import * as fleetAndAudit from './2026_11_26_0002_fleet_and_audit.js';
import * as fleetLookups from './2026_11_27_0003_fleet_lookups.js';
import * as etaPredictions from './2026_11_27_0004_eta_predictions.js';
import * as fixTelemetry from './2026_12_02_0005_fix_telemetry.js';
import * as canonicalFleetIds from './2026_12_02_0006_canonical_fleet_ids.js';
import * as consoleSessionsAndShareLinks from './2026_12_02_0007_console_sessions_and_share_links.js';
import * as stopArrivalConfirmation from './2026_12_02_0008_stop_arrival_confirmation.js';
import * as fixIngest from './2026_12_02_0009_fix_ingest.js';
import * as eventFeedAndWebhooks from './2026_12_02_0010_event_feed_and_webhooks.js';
import * as dataExports from './2026_12_02_0011_data_exports.js';
import * as positionsPartitions from './2026_12_02_0012_positions_partitions.js';
import * as etaHistory from './2026_12_02_0013_eta_history.js';
import * as deferredWakeups from './2026_12_02_0014_deferred_wakeups.js';
import * as wakeupDelivery from './2026_12_04_0015_wakeup_delivery.js';

export const migrations: Record<string, Migration> = {
  '2026_11_26_0001_initial': initial,
  '2026_11_26_0002_fleet_and_audit': fleetAndAudit,
  '2026_11_27_0003_fleet_lookups': fleetLookups,
  '2026_11_27_0004_eta_predictions': etaPredictions,
  '2026_12_02_0005_fix_telemetry': fixTelemetry,
  '2026_12_02_0006_canonical_fleet_ids': canonicalFleetIds,
  '2026_12_02_0007_console_sessions_and_share_links': consoleSessionsAndShareLinks,
  '2026_12_02_0008_stop_arrival_confirmation': stopArrivalConfirmation,
  '2026_12_02_0009_fix_ingest': fixIngest,
  '2026_12_02_0010_event_feed_and_webhooks': eventFeedAndWebhooks,
  '2026_12_02_0011_data_exports': dataExports,
  '2026_12_02_0012_positions_partitions': positionsPartitions,
  '2026_12_02_0013_eta_history': etaHistory,
  '2026_12_02_0014_deferred_wakeups': deferredWakeups,
  '2026_12_04_0015_wakeup_delivery': wakeupDelivery,
};
