// Embedded Postgres for `npm start` when DATABASE_URL is not set: PGlite (Postgres compiled to
// WebAssembly) with its data under a local folder, served over the Postgres wire protocol so the
// worker, the API and `pg` talk to it exactly as they would to a real server.
//
// Limits (see README): PGlite is one Postgres backend, and every client connection is lent that
// backend in turn (BackendLender below): for a whole extended-protocol cycle (Parse ... Sync) and
// for a whole transaction (BEGIN ... COMMIT/ROLLBACK), so a long transaction stalls every other
// connection. Session state (SET, temp tables, named prepared statements) is shared between connections.
//
// Run directly: tsx scripts/embedded-postgres.ts [--data-dir .data/pglite] [--port 5433]
//   [--host 127.0.0.1] [--max-connections 64] [--exit-with-parent]
// It prints one JSON line `{"event":"ready","url":...}` on stdout once it accepts connections.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket';

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

// ---------------------------------------------------------------------------------------------
// One backend, many connections
//
// pglite-socket 0.2.17 runs the messages of all connections one at a time in arrival order and
// keeps the backend for one connection only while PGlite reports an explicit transaction block.
// An extended-protocol cycle outside BEGIN (every parameterised query of `pg`) is not covered:
// another connection's Parse replaces the unnamed statement between this one's Parse, Bind and
// Execute (`portal "" does not exist`, or a Bind running someone else's statement), and after an
// error the backend skips every message until a Sync, other connections' messages included. A
// connection dropped half-way through a cycle is not cleaned up either. So we keep its per-socket
// handler (message framing, SSL and cancel requests) and give it our own queue.

const READY_FOR_QUERY = 0x5a; // 'Z'
const TERMINATE = 0x58; // 'X'

function frontendMessage(type: string, body: Buffer): Uint8Array {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return new Uint8Array(Buffer.concat([head, body]));
}
const SYNC = frontendMessage('S', Buffer.alloc(0));
const ROLLBACK = frontendMessage('Q', Buffer.from('ROLLBACK\0'));

/** Follows the backend's replies (a message may span chunks) for the status of the last ReadyForQuery. */
class ReadyForQueryWatcher {
  /** 'I' idle, 'T' in a transaction, 'E' in a failed transaction; undefined if none came yet. */
  status: string | undefined;
  private header: number[] = [];
  private bodyLeft = 0;

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.header.length < 5) {
        this.header.push(chunk[at++]!);
        if (this.header.length === 5) {
          this.bodyLeft = Buffer.from(this.header).readInt32BE(1) - 4;
          if (this.bodyLeft === 0) this.header = [];
        }
        continue;
      }
      if (this.header[0] === READY_FOR_QUERY) this.status = String.fromCharCode(chunk[at]!);
      const taken = Math.min(this.bodyLeft, chunk.length - at);
      at += taken;
      this.bodyLeft -= taken;
      if (this.bodyLeft === 0) this.header = [];
    }
  }
}

/** The queue PGLiteSocketHandler calls (its own QueryQueueManager is not exported). */
interface HandlerQueue {
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number>;
  clearQueueForHandler(handlerId: number): void;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

interface WaitingMessage {
  handlerId: number;
  /** False for the ROLLBACK/Sync sent on behalf of a connection that has gone. */
  fromClient: boolean;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

/**
 * Lends PGlite's single backend to one connection at a time. The connection whose message runs
 * keeps the backend until a ReadyForQuery reports the session idle ('I'): through the rest of its
 * extended-protocol cycle (up to Sync) and through a transaction until COMMIT or ROLLBACK. Other
 * connections' messages wait in arrival order.
 */
class BackendLender implements HandlerQueue {
  private waiting: WaitingMessage[] = [];
  private holder: number | undefined;
  private pumping = false;
  private running: Promise<void> = Promise.resolve();
  private readonly releasing = new Map<number, Promise<void>>();

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    // The backend session outlives every client; the socket's close releases what it held.
    if (message[0] === TERMINATE) return Promise.resolve(0);
    return this.submit(handlerId, true, message, onData);
  }

  clearQueueForHandler(handlerId: number): void {
    const dropped = this.waiting.filter((waiting) => waiting.handlerId === handlerId && waiting.fromClient);
    this.waiting = this.waiting.filter((waiting) => !dropped.includes(waiting));
    for (const waiting of dropped) waiting.reject(new Error('client disconnected'));
  }

  /** Called (once or more) when a connection goes away: what it left open is aborted, as a backend does on exit. */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    let releasing = this.releasing.get(handlerId);
    if (!releasing) {
      releasing = this.release(handlerId).finally(() => this.releasing.delete(handlerId));
      this.releasing.set(handlerId, releasing);
    }
    return releasing;
  }

  /** Resolves once no message is running (before the database is closed). */
  async settled(): Promise<void> {
    while (this.pumping) await this.running;
  }

  private submit(handlerId: number, fromClient: boolean, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ handlerId, fromClient, message, onData, resolve, reject });
      void this.pump();
    });
  }

  private async release(handlerId: number): Promise<void> {
    const ignore = () => undefined;
    try {
      // ROLLBACK before Sync: a Sync would commit the implicit transaction of a half-sent cycle.
      // In a cycle that already failed the backend skips the ROLLBACK until the Sync, and the
      // last ROLLBACK then ends a failed transaction block.
      for (const message of [ROLLBACK, SYNC, ROLLBACK]) {
        if (this.holder !== handlerId) return;
        await this.submit(handlerId, false, message, ignore);
      }
    } finally {
      if (this.holder === handlerId) {
        this.holder = undefined;
        void this.pump();
      }
    }
  }

  private takeNext(): WaitingMessage | undefined {
    const at = this.holder === undefined ? 0 : this.waiting.findIndex((waiting) => waiting.handlerId === this.holder);
    return at < 0 ? undefined : this.waiting.splice(at, 1)[0];
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let next = this.takeNext(); next; next = this.takeNext()) {
        this.running = this.run(next);
        await this.running;
      }
    } finally {
      this.pumping = false;
    }
  }

  private async run(waiting: WaitingMessage): Promise<void> {
    this.holder = waiting.handlerId;
    const ready = new ReadyForQueryWatcher();
    let bytes = 0;
    try {
      await this.db.runExclusive(() =>
        this.db.execProtocolRawStream(waiting.message, {
          onRawData: (data) => {
            bytes += data.length;
            ready.push(data);
            waiting.onData(data);
          },
        }),
      );
    } catch (error) {
      // The handler drops the connection, and clearTransactionIfNeeded hands the backend on.
      waiting.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (ready.status === 'I') this.holder = undefined;
    waiting.resolve(bytes);
  }
}

/** What Postgres answers a connection over max_connections, so clients report it plainly. */
function tooManyConnections(): Buffer {
  const fields = ['SFATAL', 'VFATAL', 'C53300', 'Msorry, too many clients already'].map((field) => `${field}\0`).join('');
  return Buffer.from(frontendMessage('E', Buffer.from(`${fields}\0`)));
}

interface SocketServer {
  port: number;
  stop(): Promise<void>;
}

async function serve(db: PGlite, host: string, port: number, maxConnections: number): Promise<SocketServer> {
  const lender = new BackendLender(db);
  const queryQueue = lender as HandlerQueue as unknown as PGLiteSocketHandlerOptions['queryQueue'];
  const handlers = new Set<PGLiteSocketHandler>();
  const server: Server = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    if (handlers.size >= maxConnections) {
      // Closed from this side once written: a client may never close it, and stop() waits for every socket.
      socket.write(tooManyConnections(), () => socket.destroy());
      return;
    }
    const handler = new PGLiteSocketHandler({ queryQueue, closeOnDetach: true });
    handlers.add(handler);
    // A handler that fails detaches itself without a 'close' event.
    const forget = () => handlers.delete(handler);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolvePromise());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    async stop() {
      const closed = new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
      await Promise.all([...handlers].map((handler) => handler.detach(true)));
      await closed;
      await lender.settled();
    },
  };
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
    const server = await serve(db, host, options.port, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    const opened = db;
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://postgres@${host}:${server.port}/postgres`,
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
