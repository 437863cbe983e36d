// Tenants made without any API key, by the admin CLI and by `npm start -- --demo`: each comes with
// an admin key (its secret returned once, only its hash stored) and an audit row saying how.
import type { Kysely } from 'kysely';
import { issueApiKey } from '../api/auth.js';
import { recordAudit } from '../db/repositories/audit.js';
import { createTenant, ensureTenant } from '../db/repositories/tenants.js';
import type { ApiKeyRole, Database } from '../db/schema.js';

export interface BootstrapKey {
  tenantId: string;
  name: string;
  keyId: string;
  apiKey: string;
  role: ApiKeyRole;
}

async function issueAdminKey(db: Kysely<Database>, tenant: { id: string; name: string }, keyName: string, via: string): Promise<BootstrapKey> {
  const { row: _row, ...key } = await issueApiKey(db, { tenantId: tenant.id, role: 'admin', name: keyName });
  await recordAudit(db, { tenantId: tenant.id, actorKeyId: null, action: 'api_key.issued', entityType: 'api_key', entityId: key.keyId, data: { role: 'admin', via } });
  return { tenantId: tenant.id, name: tenant.name, ...key };
}

/** A new tenant and its first admin key. */
export async function createTenantWithAdminKey(db: Kysely<Database>, name: string): Promise<BootstrapKey> {
  return issueAdminKey(db, await createTenant(db, { name }), 'bootstrap admin key', 'admin CLI');
}

/** The demo's tenant has a fixed id, so every `npm start -- --demo` uses the same one. */
export const DEMO_TENANT = { id: '00000000-0000-4000-8000-0000000de770', name: 'Demo Freight' } as const;

/** The demo tenant (created on the first demo) and a fresh admin key for this start. */
export async function demoTenantKey(db: Kysely<Database>): Promise<BootstrapKey> {
  await ensureTenant(db, DEMO_TENANT);
  return issueAdminKey(db, DEMO_TENANT, 'demo admin key', 'npm start --demo');
}
