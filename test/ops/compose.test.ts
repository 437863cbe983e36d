// docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here): the file
// is parsed and its wiring validated, and `docker compose config` runs when the compose plugin exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEnv, type Env } from '../../infra/env.js';
import { PROJECT_ROOT, temporalCliPath } from '../../infra/tools.js';
import { freePort, startTemporalDevServer } from '../../scripts/dev.js';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../../workflows/contract.js';

interface Healthcheck {
  test: string[] | string;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: Healthcheck;
  profiles?: string[];
  ports?: string[];
  restart?: string;
  deploy?: { replicas?: number | string };
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composePath = resolve(PROJECT_ROOT, 'docker-compose.yml');
const compose = parse(readFileSync(composePath, 'utf8'), { merge: true }) as ComposeFile;
const services = compose.services;

/** Compose's own interpolation, enough for this file: `${VAR:-default}` with no VAR set, and `$$`. */
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{(\w+)(?::-([^}]*))?\}/g, (match, _name: string | undefined, fallback: string | undefined) =>
    match === '$$' ? '$' : (fallback ?? ''),
  );
}

function dependencies(service: Service): Record<string, string> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(dependsOn).map(([name, { condition }]) => [name, condition]));
}

const APP_SERVICES = ['migrate', 'api', 'worker', 'simulator'] as const;

describe('docker-compose.yml', () => {
  it('has the production-like topology', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'migrate', 'postgres', 'simulator', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'worker'].sort(),
    );
    expect(interpolate(services.temporal!.image!)).toMatch(/^temporalio\/server:\d/);
    expect(interpolate(services['temporal-schema']!.image!)).toMatch(/^temporalio\/admin-tools:\d/);
    expect(interpolate(services['temporal-ui']!.image!)).toMatch(/^temporalio\/ui:\d/);
    for (const service of Object.values(services)) expect(service.image ?? '').not.toMatch(/auto-setup/);
    expect(services['temporal-ui']!.ports).toContain('8080:8080');
    expect(services.api!.ports).toContain('3000:3000');
  });

  it('wires every depends_on to an existing service with a condition it can meet', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependencies(service))) {
        expect(services[target], `${name} depends on missing ${target}`).toBeDefined();
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect(services[target]!.healthcheck, `${target} needs a healthcheck`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(services[target]!.restart, `${target} is a one-shot job`).toBe('no');
        // A service outside any profile must never wait for one that only runs under a profile.
        if (!service.profiles) expect(services[target]!.profiles, `${name} -> ${target}`).toBeUndefined();
      }
    }
  });

  it('orders start-up: schema before server, server before setup, migrations and setup before the app', () => {
    expect(dependencies(services['temporal-schema']!)).toEqual({ postgres: 'service_healthy' });
    expect(dependencies(services.temporal!)).toEqual({ 'temporal-schema': 'service_completed_successfully' });
    expect(dependencies(services['temporal-setup']!)).toEqual({ temporal: 'service_healthy' });
    expect(dependencies(services.migrate!)).toEqual({ postgres: 'service_healthy' });
    for (const name of ['api', 'worker'] as const) {
      expect(dependencies(services[name]!)).toEqual({ migrate: 'service_completed_successfully', 'temporal-setup': 'service_completed_successfully' });
    }
    expect(dependencies(services.simulator!).api).toBe('service_healthy');
  });

  it('sets up both Temporal databases with temporal-sql-tool', () => {
    const script = interpolate([services['temporal-schema']!.command].flat().join('\n'));
    expect(script).toContain('temporal-sql-tool --plugin postgres12 --ep postgres');
    expect(script).toMatch(/temporal:temporal temporal_visibility:visibility/);
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) expect(script).toContain(step);
    expect(script).toContain('/etc/temporal/schema/postgresql/v12');
    expect(services.temporal!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
  });

  it('registers exactly the search attributes of the workflow contract', () => {
    const setup = services['temporal-setup']!;
    const registered = interpolate(setup.environment!.SEARCH_ATTRIBUTES!).split(/\s+/).filter(Boolean);
    expect(registered).toEqual([...SEARCH_ATTRIBUTE_REGISTRATIONS]);
    const script = interpolate([setup.command].flat().join('\n'));
    expect(script).toContain('temporal operator namespace create');
    expect(script).toContain('temporal operator search-attribute create');
  });

  it('points the app services at the compose hostnames and runs entry points that exist', () => {
    for (const name of APP_SERVICES) {
      const service = services[name]!;
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value))]));
      const databaseUrl = new URL(env.DATABASE_URL!);
      expect(databaseUrl.hostname, name).toBe('postgres');
      expect(databaseUrl.pathname, name).toBe('/retrack');
      expect(env.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      expect(env.TEMPORAL_NAMESPACE, name).toBe(interpolate(services['temporal-setup']!.environment!.NAMESPACE!));
      expect(service.build, name).toBe('.');
      const command = [service.command].flat() as string[];
      expect(command.slice(0, 3), name).toEqual(['node', '--import', 'tsx']);
      expect(existsSync(resolve(PROJECT_ROOT, command[3]!)), `${name} runs ${command[3]}`).toBe(true);
    }
    expect(services.simulator!.profiles).toEqual(['simulator']);
    expect(interpolate(services.simulator!.environment!.SIM_API_URL!)).toBe('http://api:3000');
    const postgres = services.postgres!.environment!;
    expect(postgres.POSTGRES_DB).toBe('retrack');
  });

  it('scales the workers and sizes the Temporal cluster from the environment', () => {
    expect(Number(interpolate(String(services.worker!.deploy?.replicas)))).toBeGreaterThanOrEqual(2);
    // Replicas must not claim a fixed port or name: compose would refuse to start the second.
    expect(services.worker!.ports).toBeUndefined();
    expect(Number(interpolate(services.temporal!.environment!.NUM_HISTORY_SHARDS!))).toBeGreaterThanOrEqual(16);
    const tuning = Object.keys(services.worker!.environment ?? {}).filter((key) => key.startsWith('WORKER_'));
    const parsed = loadEnv(Object.fromEntries(Object.entries(services.worker!.environment!).map(([key, value]) => [key, interpolate(String(value))])));
    for (const key of tuning) expect(parsed[key as keyof Env], key).toBe(Number(interpolate(services.worker!.environment![key]!)));
  });

  it('has healthchecks on the long-running services others wait for', () => {
    for (const name of ['postgres', 'temporal', 'api']) expect(services[name]!.healthcheck?.test, name).toBeDefined();
    expect(JSON.stringify(services.api!.healthcheck!.test)).toContain('/healthz');
  });

  it('has a setup job whose script registers the search attributes on a real Temporal server, twice', async () => {
    const setup = services['temporal-setup']!;
    const script = interpolate([setup.command].flat().join('\n'));
    const dataRoot = mkdtempSync(join(tmpdir(), 'retrack-compose-'));
    const port = await freePort();
    // A server with nothing registered, and a namespace that does not exist yet, as on a fresh cluster.
    const server = await startTemporalDevServer({
      dbFile: join(dataRoot, 'temporal.sqlite'),
      port,
      uiPort: await freePort(),
      namespace: 'default',
      searchAttributes: [],
    });
    try {
      const env = {
        ...process.env,
        PATH: `${dirname(temporalCliPath())}:${process.env.PATH}`,
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        NAMESPACE: 'retrack-compose',
        SEARCH_ATTRIBUTES: interpolate(setup.environment!.SEARCH_ATTRIBUTES!),
      };
      for (let run = 1; run <= 2; run++) {
        const result = spawnSync('/bin/sh', ['-c', script], { env, encoding: 'utf8', timeout: 120_000 });
        expect(result.status, `run ${run}: ${result.stdout}${result.stderr}`).toBe(0);
      }
      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'retrack-compose' });
        const registered = Object.keys(customAttributes ?? {});
        for (const registration of SEARCH_ATTRIBUTE_REGISTRATIONS) expect(registered).toContain(registration.split('=')[0]);
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop(10_000);
      rmSync(dataRoot, { recursive: true, force: true });
    }
  });

  const composePlugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  it.skipIf(composePlugin.status !== 0)('passes `docker compose config` (needs the compose plugin, not an engine)', () => {
    execFileSync('docker', ['compose', '-f', composePath, '--profile', 'simulator', 'config', '-q'], { cwd: PROJECT_ROOT, stdio: 'pipe' });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(resolve(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(resolve(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
  const pkg = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

  it('builds on Node 24 LTS with production dependencies, which must include tsx', () => {
    expect(dockerfile).toMatch(/node:24-/);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(pkg.dependencies.tsx).toBeDefined();
  });

  it('keeps in the image every folder the services import at run time', () => {
    for (const folder of ['api', 'worker', 'workflows', 'activities', 'domain', 'db', 'infra', 'simulator']) {
      expect(dockerignore, folder).not.toContain(folder);
    }
    for (const local of ['node_modules', '.tools', '.data', '.git']) expect(dockerignore).toContain(local);
  });

  it('imports no dev dependency from code that runs in the image', () => {
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => !name.startsWith('@types/'));
    const runtimeFiles = execFileSync('git', ['ls-files', 'api', 'worker', 'workflows', 'activities', 'domain', 'db', 'infra', 'simulator'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((file) => file.endsWith('.ts') && existsSync(resolve(PROJECT_ROOT, file)));
    for (const file of runtimeFiles) {
      const source = readFileSync(resolve(PROJECT_ROOT, file), 'utf8');
      for (const name of devOnly) {
        expect(source, `${file} imports ${name}`).not.toMatch(new RegExp(`from '${name}(/[^']*)?'`));
      }
      expect(source, `${file} imports from test/`).not.toMatch(/from '(\.\.\/)+test\//);
    }
  });
});
