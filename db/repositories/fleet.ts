// Carriers, drivers, vehicles and devices. Every function takes the tenant and filters by it:
// another tenant's row is indistinguishable from a missing one.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { CarriersTable, Database, DevicesTable, DriversTable, VehiclesTable } from '../schema.js';
import { ACTIVE_STATUSES, type ShipmentStatus } from '../../domain/types.js';
import { isUuidId, keysetCursor, microsText, uuidOrNil, type KeysetCursor } from './pagination.js';

export const FLEET_TABLES = { carrier: 'carriers', driver: 'drivers', vehicle: 'vehicles', device: 'devices' } as const;
export type FleetKind = keyof typeof FLEET_TABLES;
const FLEET_CURSORS = Object.fromEntries(Object.entries(FLEET_TABLES).map(([kind, table]) => [kind, keysetCursor(table, isUuidId)])) as Record<FleetKind, KeysetCursor>;

export interface FleetRows {
  carrier: Selectable<CarriersTable>;
  driver: Selectable<DriversTable>;
  vehicle: Selectable<VehiclesTable>;
  device: Selectable<DevicesTable>;
}

type Executor = Kysely<Database> | Transaction<Database>;
// The four tables share id/tenant_id/created_at/updated_at; the generic queries below only touch
// those and caller-supplied columns, so they go through an untyped view of the same connection.
const loose = (db: Executor) => db as unknown as Kysely<any>;

export type RowLock = 'share' | 'update';

export async function findFleetRow<K extends FleetKind>(
  db: Executor,
  kind: K,
  tenantId: string,
  id: string,
  lock?: RowLock,
): Promise<FleetRows[K] | undefined> {
  let query = loose(db).selectFrom(FLEET_TABLES[kind]).selectAll().where('id', '=', uuidOrNil(id)).where('tenant_id', '=', tenantId);
  if (lock === 'share') query = query.forShare();
  if (lock === 'update') query = query.forUpdate();
  return (await query.executeTakeFirst()) as FleetRows[K] | undefined;
}

export async function insertFleetRow<K extends FleetKind>(db: Executor, kind: K, values: Record<string, unknown>): Promise<FleetRows[K]> {
  return (await loose(db).insertInto(FLEET_TABLES[kind]).values(values).returningAll().executeTakeFirstOrThrow()) as FleetRows[K];
}

export async function updateFleetRow<K extends FleetKind>(
  db: Executor,
  kind: K,
  tenantId: string,
  id: string,
  values: Record<string, unknown>,
): Promise<FleetRows[K] | undefined> {
  const table: string = FLEET_TABLES[kind];
  return (await loose(db)
    .updateTable(table)
    .set({ ...values, updated_at: new Date() })
    .where('id', '=', uuidOrNil(id))
    .where('tenant_id', '=', tenantId)
    .returningAll()
    .executeTakeFirst()) as FleetRows[K] | undefined;
}

export async function deleteFleetRow(db: Executor, kind: FleetKind, tenantId: string, id: string): Promise<boolean> {
  const result = await loose(db).deleteFrom(FLEET_TABLES[kind]).where('id', '=', uuidOrNil(id)).where('tenant_id', '=', tenantId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Newest first, keyset-paginated on (created_at desc, id desc); `filters` are column = value. Throws InvalidCursorError. */
export async function listFleetRows<K extends FleetKind>(
  db: Executor,
  kind: K,
  tenantId: string,
  filters: Record<string, string | undefined>,
  page: { limit: number; cursor?: string },
): Promise<{ items: FleetRows[K][]; nextCursor: string | null }> {
  const table: string = FLEET_TABLES[kind];
  let query = loose(db).selectFrom(table).selectAll().select(microsText('created_at').as('cursor_at')).where('tenant_id', '=', tenantId);
  for (const [column, value] of Object.entries(filters)) if (value !== undefined) query = query.where(column, '=', value);
  if (page.cursor) {
    const key = FLEET_CURSORS[kind].decode(page.cursor);
    query = query.where(sql<boolean>`(created_at, id) < (${key.at}::timestamptz, ${key.id}::uuid)`);
  }
  const rows = (await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute()) as { id: string; cursor_at: string }[];
  const { items, nextCursor } = FLEET_CURSORS[kind].page(rows, page.limit, (r) => ({ at: r.cursor_at, id: r.id }));
  return { items: items.map(({ cursor_at: _cursor, ...row }) => row as unknown as FleetRows[K]), nextCursor };
}

export interface FleetReference {
  /** The request field that carries the id, named in the error. */
  field: string;
  kind: FleetKind;
  id: string;
}

/**
 * The references that do not name a row of the tenant. With a transaction the rows found are
 * locked FOR SHARE until it commits, so a concurrent delete waits and then sees the new use.
 */
export async function missingFleetReferences(db: Executor, tenantId: string, references: FleetReference[]): Promise<FleetReference[]> {
  const missing: FleetReference[] = [];
  const lock = db.isTransaction ? 'share' : undefined;
  for (const reference of references) {
    if (!(await findFleetRow(db, reference.kind, tenantId, reference.id, lock))) missing.push(reference);
  }
  return missing;
}

export interface ShipmentReference {
  id: string;
  reference: string;
  status: ShipmentStatus;
}

/** What still uses a fleet row; a delete is refused while any list is non-empty. */
export interface FleetUsage {
  activeShipments: ShipmentReference[];
  vehicles: string[];
  drivers: string[];
  devices: string[];
  apiKeys: string[];
}

const USAGE_LIST_LIMIT = 20;
const SHIPMENT_COLUMN = { carrier: 'carrier_id', driver: 'driver_id', vehicle: 'vehicle_id', device: 'device_id' } as const;

export async function fleetUsage(db: Executor, kind: FleetKind, tenantId: string, id: string): Promise<FleetUsage> {
  const activeShipments = await db
    .selectFrom('shipments')
    .select(['id', 'reference', 'status'])
    .where('tenant_id', '=', tenantId)
    .where(SHIPMENT_COLUMN[kind], '=', id)
    .where('status', 'in', [...ACTIVE_STATUSES])
    .orderBy('created_at')
    .limit(USAGE_LIST_LIMIT)
    .execute();
  const ids = async (table: 'vehicles' | 'drivers' | 'devices', column: 'carrier_id' | 'vehicle_id') =>
    (await loose(db).selectFrom(table).select('id').where('tenant_id', '=', tenantId).where(column, '=', id).limit(USAGE_LIST_LIMIT).execute()).map(
      (r: { id: string }) => r.id,
    );
  const usage: FleetUsage = { activeShipments, vehicles: [], drivers: [], devices: [], apiKeys: [] };
  if (kind === 'carrier') {
    usage.vehicles = await ids('vehicles', 'carrier_id');
    usage.drivers = await ids('drivers', 'carrier_id');
  }
  if (kind === 'vehicle') usage.devices = await ids('devices', 'vehicle_id');
  if (kind === 'device') {
    const keys = await db
      .selectFrom('api_keys')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('device_id', '=', id)
      .where('revoked_at', 'is', null)
      .limit(USAGE_LIST_LIMIT)
      .execute();
    usage.apiKeys = keys.map((k) => k.id);
  }
  return usage;
}

export function isInUse(usage: FleetUsage): boolean {
  return Object.values(usage).some((list) => list.length > 0);
}
