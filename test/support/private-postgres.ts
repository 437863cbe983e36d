// A Postgres cluster of a test's own (initdb + pg_ctl from the distribution's binaries, in a temp
// dir, on a free loopback port), so a test can restart it without disturbing the shared server
// other test files use. As root the cluster runs as the `postgres` user, as Postgres requires.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../scripts/dev.js';

const run = promisify(execFile);
const DISTRIBUTION_ROOT = '/usr/lib/postgresql';

export interface PrivatePostgres {
  url: string;
  port: number;
  /** `pg_ctl restart -m fast`: every connection is closed, the server is back when this resolves. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  const versions = existsSync(DISTRIBUTION_ROOT) ? readdirSync(DISTRIBUTION_ROOT).filter((v) => /^\d+$/.test(v)) : [];
  if (versions.length === 0) throw new Error(`no Postgres server binaries under ${DISTRIBUTION_ROOT} (apt-get install postgresql)`);
  return join(DISTRIBUTION_ROOT, versions.sort((a, b) => Number(a) - Number(b)).at(-1)!, 'bin');
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const root = mkdtempSync(join(tmpdir(), 'retrack-pg-'));
  const data = join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = await run('id', ['-u', 'postgres']).then(async ({ stdout }) => ({ uid: Number(stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) }));
    chownSync(root, uid, gid);
    chmodSync(root, 0o700);
  }
  const pgTool = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args);
  const port = await freePort();
  await pgTool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  // Durability is not what this cluster tests: fsync off keeps restarts quick.
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  await pgTool('pg_ctl', ['-D', data, '-l', join(root, 'postgres.log'), '-o', options, '-w', '-t', '60', 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/retrack`;
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('create database retrack');
  await admin.end();
  return {
    url,
    port,
    async restart() {
      // The log file again: without it the new server would hold pg_ctl's output pipe open.
      await pgTool('pg_ctl', ['-D', data, '-l', join(root, 'postgres.log'), '-m', 'fast', '-w', '-t', '60', 'restart']);
    },
    async stop() {
      await pgTool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
