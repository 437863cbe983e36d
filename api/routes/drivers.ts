// Drivers, optionally employed by one of the tenant's carriers.
import { z } from '@hono/zod-openapi';
import { iso } from '../../infra/encoding.js';
import type { FleetRows } from '../../db/repositories/fleet.js';
import type { RouteDeps } from '../context.js';
import { fleetRef, fleetRoutes, fleetTimestamps } from '../fleet.js';
import { atLeastOneField, text } from '../schemas.js';

const name = text({ min: 1, max: 200 });
const phone = text({ max: 100 }).regex(/^\+?[0-9 ()-]{3,40}$/, 'must be a phone number');
const licenseNumber = text({ min: 1, max: 60 });

const CreateDriverSchema = z
  .strictObject({ name, carrierId: fleetRef.optional(), phone: phone.optional(), licenseNumber: licenseNumber.optional() })
  .openapi('CreateDriver', { example: { name: 'Camille Martin', phone: '+33 6 12 34 56 78' } });
const UpdateDriverSchema = z
  .strictObject({
    name: name.optional(),
    carrierId: fleetRef.nullable().optional(),
    phone: phone.nullable().optional(),
    licenseNumber: licenseNumber.nullable().optional(),
  })
  .refine(atLeastOneField, { message: 'send at least one field to change' })
  .openapi('UpdateDriver');
const DriverSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    carrierId: z.string().optional(),
    phone: z.string().optional(),
    licenseNumber: z.string().optional(),
    ...fleetTimestamps,
  })
  .openapi('Driver');

function toView(row: FleetRows['driver']): z.infer<typeof DriverSchema> {
  return {
    id: row.id,
    name: row.name,
    ...(row.carrier_id ? { carrierId: row.carrier_id } : {}),
    ...(row.phone ? { phone: row.phone } : {}),
    ...(row.license_number ? { licenseNumber: row.license_number } : {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function driverRoutes(deps: RouteDeps) {
  return fleetRoutes(deps, {
    kind: 'driver',
    path: '/v1/drivers',
    createSchema: CreateDriverSchema,
    updateSchema: UpdateDriverSchema,
    filterSchema: z.object({ carrierId: fleetRef.optional() }),
    viewSchema: DriverSchema,
    toView,
    columns: { name: 'name', carrierId: 'carrier_id', phone: 'phone', licenseNumber: 'license_number' },
    references: { carrierId: 'carrier' },
  });
}
