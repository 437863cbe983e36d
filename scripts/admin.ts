// Bootstrap and key management without any API key:
//   npm run --silent admin -- create-tenant --name "Acme"
//   npm run --silent admin -- create-api-key --tenant <tenantId> --role dispatcher [--name X] [--device <deviceId>]
// Prints exactly one JSON object on stdout; the secret in `apiKey` is shown only this once.
import { parseArgs } from 'node:util';
import { loadEnv } from '../infra/env.js';
import { createDatabase } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { createTenant, tenantExists } from '../db/repositories/tenants.js';
import { API_KEY_ROLES, issueApiKey } from '../api/auth.js';
import type { ApiKeyRole } from '../db/schema.js';

const USAGE = `usage:
  admin create-tenant --name <name>
  admin create-api-key --tenant <tenantId> --role <${API_KEY_ROLES.join('|')}> [--name <label>] [--device <deviceId>]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: { name: { type: 'string' }, tenant: { type: 'string' }, role: { type: 'string' }, device: { type: 'string' } },
  strict: true,
});

const env = loadEnv();
const db = createDatabase(env.DATABASE_URL, { max: 1 });
try {
  await migrateToLatest(db);
  if (command === 'create-tenant') {
    if (!values.name?.trim()) fail('--name is required');
    const tenant = await createTenant(db, { name: values.name.trim() });
    const key = await issueApiKey(db, { tenantId: tenant.id, role: 'admin', name: 'bootstrap admin key' });
    process.stdout.write(`${JSON.stringify({ tenantId: tenant.id, name: tenant.name, ...key })}\n`);
  } else if (command === 'create-api-key') {
    const role = values.role as ApiKeyRole | undefined;
    if (!values.tenant) fail('--tenant is required');
    if (!role || !API_KEY_ROLES.includes(role)) fail(`--role must be one of ${API_KEY_ROLES.join(', ')}`);
    if (!/^[0-9a-f-]{36}$/i.test(values.tenant) || !(await tenantExists(db, values.tenant))) fail(`no tenant ${values.tenant}`);
    const key = await issueApiKey(db, { tenantId: values.tenant, role, ...(values.name ? { name: values.name } : {}), ...(values.device ? { deviceId: values.device } : {}) });
    process.stdout.write(`${JSON.stringify({ tenantId: values.tenant, ...key, ...(values.device ? { deviceId: values.device } : {}) })}\n`);
  } else {
    fail(command ? `unknown command ${command}` : 'a command is required');
  }
} finally {
  await db.destroy();
}
