// Embedded Postgres for `npm start` when DATABASE_URL is not set: PGlite (Postgres compiled to
// WebAssembly) with its data under a local folder, served over the Postgres wire protocol so the
// worker, the API and `pg` talk to it exactly as they would to a real server.
//
// Limits (see README): PGlite is one Postgres backend. pglite-socket multiplexes several client
// connections onto it, one protocol message at a time, and keeps an open transaction exclusive to
// the connection that began it, so a long transaction stalls every other connection. Session state
// (SET, temp tables, named prepared statements) is shared between connections.
//
// Run directly: tsx scripts/embedded-postgres.ts [--data-dir .data/pglite] [--port 5433]
//   [--host 127.0.0.1] [--max-connections 64] [--exit-with-parent]
// It prints one JSON line `{"event":"ready","url":...}` on stdout once it accepts connections.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  host?: string;
  /** Client connections accepted at once; every pool of every process counts (worker + API + CLI). */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export const DEFAULT_EMBEDDED_PORT = 5433;
export const DEFAULT_MAX_CONNECTIONS = 64;

/** Fails early with a clear message instead of opening the data folder twice. */
async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`${host}:${port} is already in use (another embedded Postgres? set DATABASE_URL to use an existing server)`)
          : error,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolvePromise()));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PGlite has no postmaster lock: two processes on one data folder would corrupt it, so we keep our own. */
function acquireLock(lockFile: string): () => void {
  try {
    const holder = Number(readFileSync(lockFile, 'utf8').trim());
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new Error(`the embedded Postgres data folder is in use by process ${holder} (${lockFile})`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  writeFileSync(lockFile, `${process.pid}\n`);
  return () => rmSync(lockFile, { force: true });
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = resolve(options.dataDir);
  mkdirSync(dirname(dataDir), { recursive: true });
  await assertPortFree(host, options.port);
  const releaseLock = acquireLock(`${dataDir}.lock`);
  let db: PGlite | undefined;
  try {
    db = await PGlite.create({ dataDir });
    const server = new PGLiteSocketServer({
      db,
      host,
      port: options.port,
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    });
    await server.start();
    const port = Number(server.getServerConn().split(':').pop());
    const opened = db;
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://postgres@${host}:${port}/postgres`,
      stop() {
        stopping ??= (async () => {
          await server.stop();
          // close() runs a clean Postgres shutdown (checkpoint), so the next start needs no recovery.
          await opened.close();
          releaseLock();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await db?.close().catch(() => undefined);
    releaseLock();
    throw error;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string', default: process.env.PGLITE_DATA_DIR ?? '.data/pglite' },
      port: { type: 'string', default: process.env.PGLITE_PORT ?? String(DEFAULT_EMBEDDED_PORT) },
      host: { type: 'string', default: '127.0.0.1' },
      'max-connections': { type: 'string', default: process.env.PGLITE_MAX_CONNECTIONS ?? String(DEFAULT_MAX_CONNECTIONS) },
      // Used by the orchestrator: stdin is a pipe from the parent, and its end means the parent is gone.
      'exit-with-parent': { type: 'boolean', default: false },
    },
  });
  const embedded = await startEmbeddedPostgres({
    dataDir: values['data-dir'],
    host: values.host,
    port: Number(values.port),
    maxConnections: Number(values['max-connections']),
  });
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: embedded.url, dataDir: resolve(values['data-dir']) })}\n`);

  const shutdown = (why: string) => {
    process.stderr.write(`embedded Postgres stopping (${why})\n`);
    embedded.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`embedded Postgres failed to stop cleanly: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  if (values['exit-with-parent']) {
    process.stdin.on('end', () => shutdown('parent exited')).resume();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`embedded Postgres failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
