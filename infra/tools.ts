// Paths to the project-local tools installed by scripts/install-tools.sh: the Temporal binaries,
// schemathesis and dbt.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS_BIN = resolve(PROJECT_ROOT, '.tools/venv/bin');

function requireTool(name: string, bin = TOOLS_BIN): string {
  const path = resolve(bin, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run "bash scripts/install-tools.sh" (npm start and npm test do it for you)`);
  return path;
}

export const temporalCliPath = (): string => requireTool('temporal');
export const temporalTestServerPath = (): string => requireTool('temporal-test-server');
export const schemathesisPath = (): string => requireTool('schemathesis');

/** dbt-core with the DuckDB and Postgres adapters, in a venv of its own (.tools/dbt). */
export const dbtPath = (): string => requireTool('dbt', resolve(PROJECT_ROOT, '.tools/dbt/bin'));
