// Paths to the project-local Temporal binaries installed by scripts/install-tools.sh.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS_BIN = resolve(PROJECT_ROOT, '.tools/venv/bin');

function requireTool(name: string): string {
  const path = resolve(TOOLS_BIN, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run "bash scripts/install-tools.sh" (npm start and npm test do it for you)`);
  return path;
}

export const temporalCliPath = (): string => requireTool('temporal');
export const temporalTestServerPath = (): string => requireTool('temporal-test-server');
export const schemathesisPath = (): string => requireTool('schemathesis');
