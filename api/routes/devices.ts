// Devices (ELDs, GPS trackers, phone apps) that send fixes; the external id (IMEI or serial) is
// unique per tenant. Device keys are bound to a device's `id`.
import { z } from '@hono/zod-openapi';
import { iso } from '../../infra/encoding.js';
import type { FleetRows } from '../../db/repositories/fleet.js';
import type { RouteDeps } from '../context.js';
import { fleetRef, fleetRoutes, fleetTimestamps } from '../fleet.js';
import { atLeastOneField, text } from '../schemas.js';

const externalId = text({ min: 1, max: 100 }).openapi({ description: 'IMEI or serial number; unique in your tenant' });
const kind = text({ max: 100, trim: false }).regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case word such as tracker, eld or phone-app');

const CreateDeviceSchema = z
  .strictObject({ externalId, kind: kind.default('tracker'), vehicleId: fleetRef.optional() })
  .openapi('CreateDevice', { example: { externalId: '356938035643809', kind: 'eld' } });
const UpdateDeviceSchema = z
  .strictObject({ externalId: externalId.optional(), kind: kind.optional(), vehicleId: fleetRef.nullable().optional() })
  .refine(atLeastOneField, { message: 'send at least one field to change' })
  .openapi('UpdateDevice');
const DeviceSchema = z
  .object({ id: z.string().uuid(), externalId: z.string(), kind: z.string(), vehicleId: z.string().optional(), ...fleetTimestamps })
  .openapi('Device');

function toView(row: FleetRows['device']): z.infer<typeof DeviceSchema> {
  return {
    id: row.id,
    externalId: row.external_id,
    kind: row.kind,
    ...(row.vehicle_id ? { vehicleId: row.vehicle_id } : {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function deviceRoutes(deps: RouteDeps) {
  return fleetRoutes(deps, {
    kind: 'device',
    path: '/v1/devices',
    createSchema: CreateDeviceSchema,
    updateSchema: UpdateDeviceSchema,
    filterSchema: z.object({ vehicleId: fleetRef.optional(), externalId: externalId.optional() }),
    viewSchema: DeviceSchema,
    toView,
    columns: { externalId: 'external_id', kind: 'kind', vehicleId: 'vehicle_id' },
    references: { vehicleId: 'vehicle' },
    uniqueFields: { devices_tenant_external_id_key: 'externalId' },
  });
}
