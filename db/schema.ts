// The one Kysely `Database` interface: what the tables look like today.
// Migrations under db/migrations are frozen in time and never import this file.
import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable } from 'kysely';
import type { Anomaly, ArrivalConfirmation, DeviceAttributes, Fix, LineString, Milestone, ShipmentStatus, ShipmentThresholds, StopStatus, StopType } from '../domain/types.js';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type ApiKeyRole = 'admin' | 'dispatcher' | 'viewer' | 'device';

export interface TenantsTable {
  id: string;
  name: string;
  /** Anomaly thresholds of every shipment of the tenant unless the shipment overrides them. */
  anomaly_defaults: JSONColumnType<ShipmentThresholds, ShipmentThresholds | undefined, ShipmentThresholds>;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  /** Public part of the key, also its primary key; the secret is never stored, only its hash. */
  id: string;
  tenant_id: string;
  role: ApiKeyRole;
  name: string;
  secret_hash: string;
  device_id: string | null;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_by_key_id: string | null;
}

export interface ShipmentsTable {
  id: string;
  tenant_id: string;
  reference: string;
  status: ShipmentStatus;
  workflow_id: string;
  /** Hash of the create body: an identical repeat returns the shipment, a different body is a conflict. */
  request_hash: string;
  carrier_id: string | null;
  vehicle_id: string | null;
  driver_id: string | null;
  device_id: string | null;
  route: JSONColumnType<LineString | null, LineString | null, LineString | null>;
  thresholds: JSONColumnType<ShipmentThresholds, ShipmentThresholds, ShipmentThresholds>;
  open_anomalies: ColumnType<string[], string[] | undefined, string[]>;
  anomalies: JSONColumnType<Anomaly[], Anomaly[] | undefined, Anomaly[]>;
  /** The workflow's current milestones; null until it first writes them (then read from the timeline). */
  milestones: JSONColumnType<Milestone[] | null, Milestone[] | null | undefined, Milestone[] | null>;
  last_position: JSONColumnType<Fix | null, Fix | null | undefined, Fix | null>;
  next_eta: Timestamp | null;
  cancellation: JSONColumnType<{ reason: string; at: string } | null, { reason: string; at: string } | null | undefined, { reason: string; at: string } | null>;
  /** Monotonic counter from the workflow: a retried or late write never rolls the projection back. */
  projection_version: ColumnType<string, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface StopsTable {
  shipment_id: string;
  sequence: number;
  tenant_id: string;
  type: StopType;
  name: string;
  lat: number;
  lon: number;
  geofence_radius_m: number;
  window_start: Timestamp | null;
  window_end: Timestamp | null;
  planned_dwell_min: number | null;
  /** The stop's own arrival confirmation; null: the shipment's. */
  arrival_confirmation: JSONColumnType<ArrivalConfirmation | null, ArrivalConfirmation | null | undefined, ArrivalConfirmation | null>;
  status: ColumnType<StopStatus, StopStatus | undefined, StopStatus>;
  arrived_at: Timestamp | null;
  departed_at: Timestamp | null;
  eta: Timestamp | null;
}

export interface PositionsTable {
  id: Generated<string>;
  tenant_id: string;
  shipment_id: string | null;
  device_id: string | null;
  recorded_at: Timestamp;
  received_at: CreatedAt;
  lat: number;
  lon: number;
  speed_kmh: number | null;
  heading_deg: number | null;
  accuracy_m: number | null;
  temperature_c: number | null;
  altitude_m: number | null;
  satellites: number | null;
  hdop: number | null;
  ignition: boolean | null;
  battery_pct: number | null;
  battery_v: number | null;
  odometer_km: number | null;
  humidity_pct: number | null;
  door_open: boolean | null;
  event_code: string | null;
  /** Vendor-specific readings, bounded by the API (keys, value types, total size). */
  attributes: JSONColumnType<DeviceAttributes | null, DeviceAttributes | null | undefined, DeviceAttributes | null>;
  /** Per-shipment sequence, assigned under the shipment's ingest row lock; null for a device's unrouted fixes. */
  seq: ColumnType<string | null, string | number | null | undefined, never>;
}

/**
 * Per shipment: which fixes are stored, which the workflow has read, and whether a wake-up is
 * outstanding. The API and the workflow's load meet on this row's lock.
 */
export interface ShipmentIngestTable {
  shipment_id: string;
  tenant_id: string;
  stored_seq: ColumnType<string, string | number | undefined, string | number>;
  loaded_seq: ColumnType<string, string | number | undefined, string | number>;
  wake_seq: ColumnType<string, string | number | undefined, string | number>;
  wake_sent_at: Timestamp | null;
  wake_attempts: ColumnType<number, number | undefined, number>;
  /** Wake-ups up to here were signalled and accepted by Temporal (recorded after the fact, in batches). */
  wake_delivered_seq: ColumnType<string, string | number | undefined, string | number>;
  /** The workflow's calm zone: fixes inside it may wait for a deferred wake-up. */
  calm_lat: number | null;
  calm_lon: number | null;
  calm_radius_m: number | null;
  /** The band's route stretch, [lon, lat, lon, lat, ...]; null: the disc alone. */
  calm_path: number[] | null;
  calm_path_width_m: number | null;
  deferred_since: Timestamp | null;
}

export interface ShipmentEventsTable {
  id: Generated<string>;
  tenant_id: string;
  shipment_id: string;
  /** Deterministic key from the workflow (e.g. `ARRIVED:2`): a retried activity inserts nothing twice. */
  event_key: string;
  type: string;
  occurred_at: Timestamp;
  stop_sequence: number | null;
  data: JSONColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  actor: string | null;
  inserted_at: CreatedAt;
}

export interface CarriersTable {
  id: string;
  tenant_id: string;
  name: string;
  scac: string | null;
  contact_email: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface DriversTable {
  id: string;
  tenant_id: string;
  carrier_id: string | null;
  name: string;
  phone: string | null;
  license_number: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface VehiclesTable {
  id: string;
  tenant_id: string;
  carrier_id: string | null;
  plate: string;
  kind: ColumnType<string, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface DevicesTable {
  id: string;
  tenant_id: string;
  /** IMEI or serial number, unique per tenant. */
  external_id: string;
  kind: ColumnType<string, string | undefined, string>;
  vehicle_id: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

/** Who did what to the tenant's configuration (keys, fleet), with the acting key. */
export interface AuditEventsTable {
  id: Generated<string>;
  tenant_id: string;
  actor_key_id: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  data: JSONColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  occurred_at: CreatedAt;
}

/** Every ETA prediction, model and baseline, so accuracy is measured rather than claimed. */
export interface EtaPredictionsTable {
  id: Generated<string>;
  tenant_id: string;
  shipment_id: string;
  stop_sequence: number;
  /** `model` or `baseline`. */
  source: string;
  /** Fix time of the position the prediction was made from. */
  predicted_at: Timestamp;
  predicted_arrival: Timestamp;
  horizon_min: number;
  /** How the distance was measured: `route`, `great-circle` or `baseline`. */
  model: string;
  speed_kmh: number;
  created_at: CreatedAt;
}

/** A web console sign-in: the cookie carries the session id, only its sha256 is stored. */
export interface ConsoleSessionsTable {
  id_hash: string;
  tenant_id: string;
  /** The API key signed in with; its role applies and its revocation ends the session. */
  key_id: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

/** A public tracking link of one shipment; the token is shown once, only its sha256 is stored. */
export interface ShareLinksTable {
  id: string;
  tenant_id: string;
  shipment_id: string;
  token_hash: string;
  created_by_key_id: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

/** Per tenant: the highest feed sequence handed out. Its row lock orders feed commits. */
export interface TenantEventHeadsTable {
  tenant_id: string;
  last_seq: ColumnType<string, string | number, string | number>;
}

/** The tenant's change feed: one row per shipment_events row, numbered at commit. */
export interface TenantEventFeedTable {
  tenant_id: string;
  seq: ColumnType<string, string | number, never>;
  /** The event's public id, also the webhook-id of its deliveries. */
  id: Generated<string>;
  event_row_id: ColumnType<string, string | number, never>;
  shipment_id: string;
  /** The catalogue type (domain/events/catalogue.ts). */
  type: string;
  committed_at: CreatedAt;
}

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  /** Catalogue types delivered; empty: every type. */
  event_types: ColumnType<string[], string[] | undefined, string[]>;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  disabled_reason: string | null;
  disabled_at: Timestamp | null;
  /** Signing secrets (`whsec_…`); the previous one stays valid until its expiry after a rotation. */
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  /** Feed sequence delivered up to; a replay moves it back. */
  cursor_seq: ColumnType<string, string | number | undefined, string | number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface WebhookAttemptsTable {
  id: Generated<string>;
  tenant_id: string;
  endpoint_id: string;
  webhook_id: string;
  event_type: string;
  feed_seq: ColumnType<string | null, string | number | null | undefined, never>;
  attempted_at: CreatedAt;
  status_code: number | null;
  latency_ms: number;
  succeeded: boolean;
  error: string | null;
}

/** One Hive partition an export wrote (`table/tenant_id=…/date=…/part-….parquet`) and what it was written from. */
export interface ExportPartitionsTable {
  destination: string;
  format: string;
  table_name: string;
  tenant_id: string;
  /** The partition's UTC date (`YYYY-MM-DD`). */
  date: ColumnType<string, string, string>;
  rows: ColumnType<string, number | string, number | string>;
  /** The latest change among the partition's rows when it was written. */
  high_water: Timestamp;
  /** Sum of the rows' value hashes where rows can change without a newer timestamp ('0' otherwise). */
  checksum: string;
  /** The part file written, relative to the destination. */
  file: string;
  exported_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** One row per stop reached, with its shipment's carrier: kept by triggers on stops and shipments, read by the analytics routes. */
export interface StopVisitFactsTable {
  shipment_id: string;
  stop_sequence: number;
  tenant_id: string;
  carrier_id: string | null;
  facility: string;
  arrived_at: Timestamp;
  departed_at: Timestamp | null;
  window_end: Timestamp | null;
}

/** The last ETA history refresh of a tenant (workflows/eta-history.ts) and its drivers' breaks. */
export interface EtaHistoryRefreshesTable {
  tenant_id: string;
  shipments: number;
  break_samples: number;
  break_p50_min: number;
  refreshed_at: ColumnType<Date, Date | string | undefined, Date | string>;
  duration_ms: number;
}

/** Dwell per facility (stop name @ location rounded to 0.01°) learned from delivered shipments. */
export interface EtaFacilityDwellTable {
  tenant_id: string;
  facility_key: string;
  name: string;
  lat: number;
  lon: number;
  visits: number;
  p50_dwell_min: number;
  p90_dwell_min: number;
  p50_excess_min: number | null;
  excess_samples: number;
}

/** Moving driving per corridor cell (0.1° grid) and hour of week (UTC), outlier passages left out. */
export interface EtaCorridorSpeedsTable {
  tenant_id: string;
  cell: string;
  hour_of_week: number;
  moving_min: number;
  km: number;
  passages: number;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  shipments: ShipmentsTable;
  stops: StopsTable;
  positions: PositionsTable;
  shipment_ingest: ShipmentIngestTable;
  shipment_events: ShipmentEventsTable;
  carriers: CarriersTable;
  drivers: DriversTable;
  vehicles: VehiclesTable;
  devices: DevicesTable;
  audit_events: AuditEventsTable;
  eta_predictions: EtaPredictionsTable;
  console_sessions: ConsoleSessionsTable;
  share_links: ShareLinksTable;
  tenant_event_heads: TenantEventHeadsTable;
  tenant_event_feed: TenantEventFeedTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_attempts: WebhookAttemptsTable;
  export_partitions: ExportPartitionsTable;
  stop_visit_facts: StopVisitFactsTable;
  eta_history_refreshes: EtaHistoryRefreshesTable;
  eta_facility_dwell: EtaFacilityDwellTable;
  eta_corridor_speeds: EtaCorridorSpeedsTable;
}

export type ShipmentRow = Selectable<ShipmentsTable>;
export type StopRow = Selectable<StopsTable>;
export type PositionRow = Selectable<PositionsTable>;
export type NewPosition = Insertable<PositionsTable>;
export type ShipmentEventRow = Selectable<ShipmentEventsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type ShareLinkRow = Selectable<ShareLinksTable>;
export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
