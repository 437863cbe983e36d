// Bootstrap and key management without any API key:
//   npm run --silent admin -- create-tenant --name "Acme"
//   npm run --silent admin -- create-api-key --tenant <tenantId> --role dispatcher [--name X] [--device <deviceId>]
// Prints exactly one JSON object on stdout; the secret in `apiKey` is shown only this once.
// The database: DATABASE_URL when set, else the one the running `npm start` recorded under its data
// folder (stderr says which). With neither it says what to do and exits 2.
import { parseArgs } from 'node:util';
import { loadEnv } from '../infra/env.js';
import { createDatabase } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { tenantExists } from '../db/repositories/tenants.js';
import { API_KEY_ROLES, issueApiKey } from '../api/auth.js';
import { recordAudit } from '../db/repositories/audit.js';
import { findFleetRow } from '../db/repositories/fleet.js';
import type { ApiKeyRole } from '../db/schema.js';
import { redactUrl, toolDatabase } from '../infra/runtime.js';
import { createTenantWithAdminKey } from './bootstrap.js';

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

const database = toolDatabase();
if ('problem' in database) {
  process.stderr.write(`${database.problem}\n`);
  process.exit(2);
}
// Validates DATABASE_URL when given (a bad value stops here with its name).
loadEnv({ ...process.env, DATABASE_URL: database.url });
process.stderr.write(`admin: database ${redactUrl(database.url)}, from ${database.source}\n`);
const db = createDatabase(database.url, { max: 1 });
try {
  await migrateToLatest(db);
  if (command === 'create-tenant') {
    if (!values.name?.trim()) fail('--name is required');
    process.stdout.write(`${JSON.stringify(await createTenantWithAdminKey(db, values.name.trim()))}\n`);
  } else if (command === 'create-api-key') {
    const role = values.role as ApiKeyRole | undefined;
    if (!values.tenant) fail('--tenant is required');
    if (!role || !API_KEY_ROLES.includes(role)) fail(`--role must be one of ${API_KEY_ROLES.join(', ')}`);
    if (!/^[0-9a-f-]{36}$/i.test(values.tenant) || !(await tenantExists(db, values.tenant))) fail(`no tenant ${values.tenant}`);
    if ((role === 'device') !== Boolean(values.device)) fail('--device <deviceId> is required for, and only for, the device role');
    if (values.device && !(await findFleetRow(db, 'device', values.tenant, values.device))) fail(`no device ${values.device} in tenant ${values.tenant}`);
    const { row: _row, ...key } = await issueApiKey(db, { tenantId: values.tenant, role, ...(values.name ? { name: values.name } : {}), ...(values.device ? { deviceId: values.device } : {}) });
    await recordAudit(db, { tenantId: values.tenant, actorKeyId: null, action: 'api_key.issued', entityType: 'api_key', entityId: key.keyId, data: { role, via: 'admin CLI' } });
    process.stdout.write(`${JSON.stringify({ tenantId: values.tenant, ...key, ...(values.device ? { deviceId: values.device } : {}) })}\n`);
  } else {
    fail(command ? `unknown command ${command}` : 'a command is required');
  }
} finally {
  await db.destroy();
}
