// The bootstrap CLI: `npm run --silent admin -- create-tenant --name X` prints one JSON object
// whose admin key works against the API.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyApiKey } from '../../api/auth.js';
import { PROJECT_ROOT } from '../../infra/tools.js';
import { insertFleetRow } from '../../db/repositories/fleet.js';
import { DEMO_TENANT, demoTenantKey } from '../../scripts/bootstrap.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const run = promisify(execFile);
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const admin = (...args: string[]) =>
  run('node_modules/.bin/tsx', ['scripts/admin.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, DATABASE_URL: database.url } });

describe('admin CLI', () => {
  it('creates a tenant with an admin key, then keys of other roles', async () => {
    const { stdout } = await admin('create-tenant', '--name', 'Acme Freight');
    const tenant = JSON.parse(stdout);
    expect(tenant).toMatchObject({ tenantId: expect.any(String), name: 'Acme Freight', role: 'admin', keyId: expect.any(String) });
    expect(tenant.apiKey).toMatch(/^rtk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    expect(await verifyApiKey(database.db, tenant.apiKey)).toEqual({ tenantId: tenant.tenantId, keyId: tenant.keyId, role: 'admin' });

    await expect(admin('create-api-key', '--tenant', tenant.tenantId, '--role', 'device', '--device', randomUUID())).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/no device/) });
    const truck = await insertFleetRow(database.db, 'device', { id: randomUUID(), tenant_id: tenant.tenantId, external_id: 'IMEI-9', updated_at: new Date() });
    const device = JSON.parse((await admin('create-api-key', '--tenant', tenant.tenantId, '--role', 'device', '--device', truck.id)).stdout);
    expect(await verifyApiKey(database.db, device.apiKey)).toEqual({ tenantId: tenant.tenantId, keyId: device.keyId, role: 'device', deviceId: truck.id });
    const audited = await database.db.selectFrom('audit_events').select(['action', 'entity_id', 'actor_key_id']).where('tenant_id', '=', tenant.tenantId).execute();
    expect(audited).toEqual(expect.arrayContaining([{ action: 'api_key.issued', entity_id: device.keyId, actor_key_id: null }]));
  });

  it('keeps one demo tenant across starts, with a working admin key for each', async () => {
    const first = await demoTenantKey(database.db);
    const second = await demoTenantKey(database.db);
    expect([first.tenantId, second.tenantId]).toEqual([DEMO_TENANT.id, DEMO_TENANT.id]);
    expect(await database.db.selectFrom('tenants').select('name').where('id', '=', DEMO_TENANT.id).execute()).toEqual([{ name: DEMO_TENANT.name }]);
    expect(second.apiKey).not.toBe(first.apiKey);
    for (const key of [first, second]) expect(await verifyApiKey(database.db, key.apiKey)).toEqual({ tenantId: DEMO_TENANT.id, keyId: key.keyId, role: 'admin' });
  });

  it('exits non-zero with usage on bad input', async () => {
    await expect(admin('create-api-key', '--tenant', '00000000-0000-4000-8000-000000000000', '--role', 'boss')).rejects.toMatchObject({ code: 2 });
    await expect(admin('create-api-key', '--tenant', '00000000-0000-4000-8000-000000000000', '--role', 'viewer')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/no tenant/) });
    await expect(admin('create-tenant')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--name/) });
  });
});
