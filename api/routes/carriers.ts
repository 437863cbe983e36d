// Carriers: the trucking companies whose vehicles and drivers move the tenant's freight.
import { z } from '@hono/zod-openapi';
import { iso } from '../../infra/encoding.js';
import type { FleetRows } from '../../db/repositories/fleet.js';
import type { RouteDeps } from '../context.js';
import { fleetRoutes, fleetTimestamps } from '../fleet.js';
import { atLeastOneField, text } from '../schemas.js';

const name = text({ min: 1, max: 200 });
const scac = text({ max: 100, trim: false }).regex(/^[A-Z]{2,4}$/, 'must be a 2-4 letter SCAC code in capitals');
const contactEmail = text({ max: 320 }).check(z.email({ message: 'must be an e-mail address' }));

const CreateCarrierSchema = z.strictObject({ name, scac: scac.optional(), contactEmail: contactEmail.optional() }).openapi('CreateCarrier', {
  example: { name: 'Transports Rhône-Alpes', scac: 'TRAL', contactEmail: 'dispatch@tra.example' },
});
const UpdateCarrierSchema = z
  .strictObject({ name: name.optional(), scac: scac.nullable().optional(), contactEmail: contactEmail.nullable().optional() })
  .refine(atLeastOneField, { message: 'send at least one field to change' })
  .openapi('UpdateCarrier');
const CarrierSchema = z
  .object({ id: z.string().uuid(), name: z.string(), scac: z.string().optional(), contactEmail: z.string().optional(), ...fleetTimestamps })
  .openapi('Carrier');

function toView(row: FleetRows['carrier']): z.infer<typeof CarrierSchema> {
  return {
    id: row.id,
    name: row.name,
    ...(row.scac ? { scac: row.scac } : {}),
    ...(row.contact_email ? { contactEmail: row.contact_email } : {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function carrierRoutes(deps: RouteDeps) {
  return fleetRoutes(deps, {
    kind: 'carrier',
    path: '/v1/carriers',
    createSchema: CreateCarrierSchema,
    updateSchema: UpdateCarrierSchema,
    filterSchema: z.object({ scac: scac.optional() }),
    viewSchema: CarrierSchema,
    toView,
    columns: { name: 'name', scac: 'scac', contactEmail: 'contact_email' },
  });
}
