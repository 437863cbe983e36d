// Vehicles (tractors, rigids, vans), optionally operated by one of the tenant's carriers.
import { z } from '@hono/zod-openapi';
import { iso } from '../../infra/encoding.js';
import type { FleetRows } from '../../db/repositories/fleet.js';
import type { RouteDeps } from '../context.js';
import { fleetRef, fleetRoutes, fleetTimestamps } from '../fleet.js';
import { atLeastOneField, text } from '../schemas.js';

const plate = text({ min: 1, max: 20 });
const kind = text({ max: 100, trim: false }).regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case word such as tractor, rigid or van');

const CreateVehicleSchema = z
  .strictObject({ plate, kind: kind.default('tractor'), carrierId: fleetRef.optional() })
  .openapi('CreateVehicle', { example: { plate: 'AB-123-CD', kind: 'tractor' } });
const UpdateVehicleSchema = z
  .strictObject({ plate: plate.optional(), kind: kind.optional(), carrierId: fleetRef.nullable().optional() })
  .refine(atLeastOneField, { message: 'send at least one field to change' })
  .openapi('UpdateVehicle');
const VehicleSchema = z
  .object({ id: z.string().uuid(), plate: z.string(), kind: z.string(), carrierId: z.string().optional(), ...fleetTimestamps })
  .openapi('Vehicle');

function toView(row: FleetRows['vehicle']): z.infer<typeof VehicleSchema> {
  return {
    id: row.id,
    plate: row.plate,
    kind: row.kind,
    ...(row.carrier_id ? { carrierId: row.carrier_id } : {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function vehicleRoutes(deps: RouteDeps) {
  return fleetRoutes(deps, {
    kind: 'vehicle',
    path: '/v1/vehicles',
    createSchema: CreateVehicleSchema,
    updateSchema: UpdateVehicleSchema,
    filterSchema: z.object({ carrierId: fleetRef.optional(), plate: plate.optional() }),
    viewSchema: VehicleSchema,
    toView,
    columns: { plate: 'plate', kind: 'kind', carrierId: 'carrier_id' },
    references: { carrierId: 'carrier' },
  });
}
