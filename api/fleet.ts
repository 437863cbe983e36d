// The CRUD every fleet resource (carriers, drivers, vehicles, devices) shares: create, get, list
// with filters and a keyset cursor, PATCH, delete refused while in use. Every write runs in one
// transaction with its audit row; referenced fleet rows are locked FOR SHARE while it runs.
import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Kysely, Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from '../db/schema.js';
import { recordAudit } from '../db/repositories/audit.js';
import {
  deleteFleetRow,
  findFleetRow,
  fleetUsage,
  insertFleetRow,
  isInUse,
  listFleetRows,
  missingFleetReferences,
  updateFleetRow,
  type FleetKind,
  type FleetReference,
  type FleetRows,
  type FleetUsage,
} from '../db/repositories/fleet.js';
import type { AppEnv, RouteDeps } from './context.js';
import { secured } from './permissions.js';
import { ProblemError, notFound } from './problem.js';
import { createRouter } from './router.js';
import { cursorParam, limitParam, pathId, problemResponses, uuid } from './schemas.js';

export const FLEET_LABELS: Record<FleetKind, string> = { carrier: 'Carrier', driver: 'Driver', vehicle: 'Vehicle', device: 'Device' };

/** 422 naming every body field whose id is not a fleet row of the caller's tenant (missing and foreign look the same). */
export function invalidReferences(missing: FleetReference[]): ProblemError {
  return new ProblemError(
    'invalidReference',
    422,
    `${missing.map((m) => m.field).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not name a ${missing.map((m) => m.kind).join('/')} of your tenant.`,
    { errors: missing.map((m) => ({ field: m.field, message: `no ${m.kind} with id ${m.id} in your tenant` })) },
  );
}

export async function assertFleetReferences(db: Kysely<Database> | Transaction<Database>, tenantId: string, references: FleetReference[]): Promise<void> {
  const missing = await missingFleetReferences(db, tenantId, references);
  if (missing.length > 0) throw invalidReferences(missing);
}

/** The fleet ids a shipment create or assignment names (null clears and needs no check). */
export function assignmentReferences(body: { carrierId?: string | null; vehicleId?: string | null; driverId?: string | null; deviceId?: string | null }): FleetReference[] {
  const references: FleetReference[] = [];
  if (body.carrierId) references.push({ field: 'carrierId', kind: 'carrier', id: body.carrierId });
  if (body.vehicleId) references.push({ field: 'vehicleId', kind: 'vehicle', id: body.vehicleId });
  if (body.driverId) references.push({ field: 'driverId', kind: 'driver', id: body.driverId });
  if (body.deviceId) references.push({ field: 'deviceId', kind: 'device', id: body.deviceId });
  return references;
}

function usageDetail(label: string, usage: FleetUsage): string {
  const parts: string[] = [];
  if (usage.activeShipments.length > 0) parts.push(`active shipment(s) ${usage.activeShipments.map((s) => `${s.reference} (${s.status})`).join(', ')}`);
  if (usage.vehicles.length > 0) parts.push(`${usage.vehicles.length} vehicle(s)`);
  if (usage.drivers.length > 0) parts.push(`${usage.drivers.length} driver(s)`);
  if (usage.devices.length > 0) parts.push(`${usage.devices.length} device(s)`);
  if (usage.apiKeys.length > 0) parts.push(`${usage.apiKeys.length} unrevoked device key(s)`);
  return `${label} is still used by ${parts.join('; ')}: reassign, finish or remove them first.`;
}

const UNIQUE_VIOLATION = '23505';

/** Turns a unique-constraint violation into a 409 naming the field; anything else is rethrown. */
function conflictOnDuplicate(error: unknown, uniqueFields: Record<string, string>): never {
  if (error instanceof pg.DatabaseError && error.code === UNIQUE_VIOLATION && error.constraint && uniqueFields[error.constraint]) {
    const field = uniqueFields[error.constraint]!;
    throw new ProblemError('conflict', 409, `Another resource of your tenant already has this ${field}.`, { errors: [{ field, message: 'already used in your tenant' }] });
  }
  throw error;
}

export const FleetIdParamSchema = z.object({ id: pathId('id', '3b241101-e2bb-4255-8caf-4136c566a962') });

export const fleetTimestamps = { createdAt: z.string(), updatedAt: z.string() };
/** Optional uuid reference in a body or filter, canonicalised to lower case; null (on PATCH) clears it. */
export const fleetRef = uuid();

export interface FleetResourceSpec<K extends FleetKind, V extends z.ZodType> {
  kind: K;
  path: string;
  createSchema: z.ZodType<Record<string, unknown>>;
  updateSchema: z.ZodType<Record<string, unknown>>;
  /** Filter parameters (each an exact match on a column); limit and cursor are added here. */
  filterSchema: z.ZodObject;
  viewSchema: V;
  toView(row: FleetRows[K]): z.infer<V>;
  /** Body and filter field → column. On PATCH only the fields sent are written; null clears. */
  columns: Record<string, string>;
  /** Body fields holding the id of another fleet row, checked against the tenant. */
  references?: Record<string, FleetKind>;
  /** Unique constraints mapped to the body field they protect. */
  uniqueFields?: Record<string, string>;
}

function toColumns(body: Record<string, unknown>, columns: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).flatMap(([field, value]) => (value !== undefined && columns[field] ? [[columns[field], value]] : [])));
}

function referencesIn(body: Record<string, unknown>, references: Record<string, FleetKind>): FleetReference[] {
  return Object.entries(references).flatMap(([field, kind]) => (typeof body[field] === 'string' ? [{ field, kind, id: body[field] as string }] : []));
}

function actor(c: Context<AppEnv>) {
  const { tenantId, keyId } = c.get('auth');
  return { tenantId, actorKeyId: keyId };
}

export function fleetRoutes<K extends FleetKind, V extends z.ZodType>(deps: RouteDeps, spec: FleetResourceSpec<K, V>) {
  const { db } = deps;
  const label = FLEET_LABELS[spec.kind];
  const tags = ['Fleet'];
  const itemPath = `${spec.path}/{id}`;
  const listSchema = z.object({ items: z.array(spec.viewSchema), nextCursor: z.string().nullable() }).openapi(`${label}List`);
  const unique = spec.uniqueFields ?? {};
  const references = spec.references ?? {};

  const createRouteDef = createRoute(
    secured({
      method: 'post',
      path: spec.path,
      tags,
      summary: `Create a ${spec.kind}`,
      request: { body: { required: true, content: { 'application/json': { schema: spec.createSchema } } } },
      responses: {
        201: { description: `The new ${spec.kind}`, content: { 'application/json': { schema: spec.viewSchema } } },
        ...problemResponses(400, 401, 403, 409, 422, 429),
      },
    }),
  );
  const listRouteDef = createRoute(
    secured({
      method: 'get',
      path: spec.path,
      tags,
      summary: `List ${spec.kind}s (newest first)`,
      request: { query: spec.filterSchema.extend({ limit: limitParam(200, 50), cursor: cursorParam }) },
      responses: {
        200: { description: `A page of ${spec.kind}s`, content: { 'application/json': { schema: listSchema } } },
        ...problemResponses(400, 401, 403, 429),
      },
    }),
  );
  const getRouteDef = createRoute(
    secured({
      method: 'get',
      path: itemPath,
      tags,
      summary: `Get a ${spec.kind}`,
      request: { params: FleetIdParamSchema },
      responses: {
        200: { description: `The ${spec.kind}`, content: { 'application/json': { schema: spec.viewSchema } } },
        ...problemResponses(401, 403, 404, 429),
      },
    }),
  );
  const updateRouteDef = createRoute(
    secured({
      method: 'patch',
      path: itemPath,
      tags,
      summary: `Change a ${spec.kind}`,
      description: 'Only the fields sent change; `null` clears an optional field.',
      request: { params: FleetIdParamSchema, body: { required: true, content: { 'application/json': { schema: spec.updateSchema } } } },
      responses: {
        200: { description: `The changed ${spec.kind}`, content: { 'application/json': { schema: spec.viewSchema } } },
        ...problemResponses(400, 401, 403, 404, 409, 422, 429),
      },
    }),
  );
  const deleteRouteDef = createRoute(
    secured({
      method: 'delete',
      path: itemPath,
      tags,
      summary: `Delete a ${spec.kind}`,
      description: 'Refused with 409 while an active shipment (or, for carriers and vehicles, a vehicle, driver or device; for devices, an unrevoked device key) still uses it; the problem lists what does.',
      request: { params: FleetIdParamSchema },
      responses: {
        204: { description: 'Deleted' },
        ...problemResponses(401, 403, 404, 409, 429),
      },
    }),
  );

  const router = createRouter();

  router.openapi(createRouteDef, async (c) => {
    const body = c.req.valid('json') as Record<string, unknown>;
    const who = actor(c);
    const row = await db
      .transaction()
      .execute(async (trx) => {
        await assertFleetReferences(trx, who.tenantId, referencesIn(body, references));
        const created = await insertFleetRow(trx, spec.kind, { id: randomUUID(), tenant_id: who.tenantId, ...toColumns(body, spec.columns), updated_at: new Date() });
        await recordAudit(trx, { ...who, action: `${spec.kind}.created`, entityType: spec.kind, entityId: created.id, data: { after: spec.toView(created) } });
        return created;
      })
      .catch((error: unknown) => conflictOnDuplicate(error, unique));
    return c.json(spec.toView(row), 201);
  });

  router.openapi(listRouteDef, async (c) => {
    const { limit, cursor, ...filters } = c.req.valid('query') as Record<string, unknown> & { limit: number; cursor?: string };
    const page = await listFleetRows(db, spec.kind, c.get('auth').tenantId, toColumns(filters, spec.columns) as Record<string, string>, { limit, cursor });
    return c.json({ items: page.items.map((row) => spec.toView(row)), nextCursor: page.nextCursor }, 200);
  });

  router.openapi(getRouteDef, async (c) => {
    const row = await findFleetRow(db, spec.kind, c.get('auth').tenantId, c.req.valid('param').id);
    if (!row) throw notFound(`${label} not found.`);
    return c.json(spec.toView(row), 200);
  });

  router.openapi(updateRouteDef, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json') as Record<string, unknown>;
    const who = actor(c);
    const row = await db
      .transaction()
      .execute(async (trx) => {
        const before = await findFleetRow(trx, spec.kind, who.tenantId, id, 'update');
        if (!before) throw notFound(`${label} not found.`);
        await assertFleetReferences(trx, who.tenantId, referencesIn(body, references));
        const after = (await updateFleetRow(trx, spec.kind, who.tenantId, before.id, toColumns(body, spec.columns)))!;
        await recordAudit(trx, {
          ...who,
          action: `${spec.kind}.updated`,
          entityType: spec.kind,
          entityId: before.id,
          data: { before: spec.toView(before), after: spec.toView(after), fields: Object.keys(body) },
        });
        return after;
      })
      .catch((error: unknown) => conflictOnDuplicate(error, unique));
    return c.json(spec.toView(row), 200);
  });

  router.openapi(deleteRouteDef, async (c) => {
    const { id } = c.req.valid('param');
    const who = actor(c);
    await db.transaction().execute(async (trx) => {
      // Locked first: an assignment or create that references the row holds FOR SHARE until it
      // commits, so either it finishes first and is seen as a use here, or it finds the row gone.
      const row = await findFleetRow(trx, spec.kind, who.tenantId, id, 'update');
      if (!row) throw notFound(`${label} not found.`);
      const usage = await fleetUsage(trx, spec.kind, who.tenantId, row.id);
      if (isInUse(usage)) throw new ProblemError('inUse', 409, usageDetail(label, usage), { usedBy: usage });
      await deleteFleetRow(trx, spec.kind, who.tenantId, row.id);
      await recordAudit(trx, { ...who, action: `${spec.kind}.deleted`, entityType: spec.kind, entityId: row.id, data: { before: spec.toView(row) } });
    });
    return c.body(null, 204);
  });

  return router;
}
