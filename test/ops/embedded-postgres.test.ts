// The embedded Postgres of `npm start`, for real: the script runs as its own process on a free port
// with a throw-away data folder, the project's migrations run through Kysely + pg, several pools of
// connections run transactions at once without seeing each other, a connection that drops mid-way
// gives the backend back, and data survives a restart.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/connection.js';
import { migrateToLatest } from '../../db/migrate.js';
import { migrations } from '../../db/migrations/index.js';
import { freePort, startEmbeddedPostgresProcess, type ManagedProcess } from '../../scripts/dev.js';

describe('embedded Postgres (PGlite over the wire protocol)', () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'retrack-pglite-'));
  const dataDir = join(dataRoot, 'pglite');
  let running: ManagedProcess | undefined;
  let url = '';
  const tenantId = randomUUID();

  afterAll(async () => {
    await running?.stop(10_000);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('applies the migrations through pg and serves several pooled connections at once', async () => {
    const port = await freePort();
    const started = await startEmbeddedPostgresProcess({ dataDir, port });
    running = started.process;
    url = started.url;
    expect(started.url).toBe(`postgres://postgres@127.0.0.1:${port}/postgres`);

    const db = createDatabase(started.url, { max: 4 });
    try {
      expect(await migrateToLatest(db)).toEqual(Object.keys(migrations));
      await db.insertInto('tenants').values({ id: tenantId, name: 'Acme Freight' }).execute();

      // Different statements with different parameter counts on four connections at once:
      // the multiplexer must never hand one connection's Bind to another's Parse.
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          if (i % 2 === 0) {
            const row = await sql<{ n: number }>`select ${i}::int as n`.execute(db);
            return row.rows[0]?.n === i;
          }
          const row = await sql<{ name: string; i: number }>`select name, ${i}::int as i from tenants where id = ${tenantId}`.execute(db);
          return row.rows[0]?.name === 'Acme Freight' && row.rows[0]?.i === i;
        }),
      );
      expect(results.every(Boolean)).toBe(true);

      // Read-modify-write transactions from concurrent connections stay isolated from each other.
      await sql`create table dock_counter (id int primary key, n int not null)`.execute(db);
      await sql`insert into dock_counter values (1, 0)`.execute(db);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction().execute(async (trx) => {
            const { rows } = await sql<{ n: number }>`select n from dock_counter where id = 1`.execute(trx);
            await sql`update dock_counter set n = ${rows[0]!.n + 1} where id = 1`.execute(trx);
          }),
        ),
      );
      const { rows } = await sql<{ n: number }>`select n from dock_counter where id = 1`.execute(db);
      expect(rows[0]?.n).toBe(20);
    } finally {
      await db.destroy();
    }
  });

  it('gives each transaction and each extended-protocol cycle of 4 pools × 10 connections the backend to itself', async () => {
    // Four processes' worth of pools (worker, API, ...): every connection is busy at once.
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: url, max: 10 }));
    const batch = randomUUID();
    const rowsPerTransaction = 3;
    type Outcome = 'commit' | 'rollback' | 'failed';
    const outcomeOf = (t: number): Outcome => (t % 4 === 1 ? 'rollback' : t % 4 === 3 ? 'failed' : 'commit');
    const countNames = async (client: pg.PoolClient, pattern: string) =>
      (await client.query<{ n: number }>('select count(*)::int as n from tenants where name like $1', [pattern])).rows[0]!.n;

    // Every statement inside is parameterised (Parse/Bind/Execute/Sync); BEGIN/COMMIT/ROLLBACK are simple queries.
    async function transaction(pool: pg.Pool, t: number): Promise<void> {
      const outcome = outcomeOf(t);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const committedBefore = await countNames(client, `${batch}:commit:%`);
        for (let k = 0; k < rowsPerTransaction; k++) {
          await client.query('insert into tenants (id, name) values ($1, $2)', [randomUUID(), `${batch}:${outcome}:${t}:${k}`]);
          // Its own writes, and only its own: another transaction's uncommitted rows never show.
          expect(await countNames(client, `${batch}:%:${t}:%`)).toBe(k + 1);
          const { rows } = await client.query<{ name: string }>('select name from tenants where name like $1 or name like $2', [
            `${batch}:rollback:%`,
            `${batch}:failed:%`,
          ]);
          expect(rows.filter((row) => !row.name.startsWith(`${batch}:${outcome}:${t}:`))).toEqual([]);
        }
        // Nobody else's commit lands inside an open transaction: the backend stays with this connection.
        const ownCommits = outcome === 'commit' ? rowsPerTransaction : 0;
        expect(await countNames(client, `${batch}:commit:%`)).toBe(committedBefore + ownCommits);
        if (outcome === 'failed') {
          await expect(client.query('insert into tenants (id, name) values ($1, $2)', [tenantId, 'duplicate'])).rejects.toMatchObject({ code: '23505' });
          await expect(client.query('select $1::int as n', [t])).rejects.toMatchObject({ code: '25P02' });
        }
        await client.query(outcome === 'commit' ? 'COMMIT' : 'ROLLBACK');
      } finally {
        client.release();
      }
    }

    // Autocommit parameterised queries with different parameter counts, between the transactions.
    async function lookups(pool: pg.Pool, i: number): Promise<void> {
      const { rows } = await pool.query<{ sum: number; name: string }>('select $1::int + $2::int as sum, name from tenants where id = $3', [i, 1, tenantId]);
      expect(rows).toEqual([{ sum: i + 1, name: 'Acme Freight' }]);
    }

    const transactions = 160;
    try {
      const settled = await Promise.allSettled([
        ...Array.from({ length: transactions }, (_, t) => transaction(pools[t % pools.length]!, t)),
        ...Array.from({ length: transactions }, (_, i) => lookups(pools[(i + 1) % pools.length]!, i)),
      ]);
      expect(settled.filter((result) => result.status === 'rejected')).toEqual([]);

      const { rows } = await pools[0]!.query<{ outcome: string; n: number }>(
        "select split_part(name, ':', 2) as outcome, count(*)::int as n from tenants where name like $1 group by 1",
        [`${batch}:%`],
      );
      const commits = Array.from({ length: transactions }, (_, t) => outcomeOf(t)).filter((o) => o === 'commit').length;
      expect(rows).toEqual([{ outcome: 'commit', n: commits * rowsPerTransaction }]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('rolls back what a connection leaves open when it drops, and hands the backend on', async () => {
    const name = `dropped:${randomUUID()}`;
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      // Mid-transaction: BEGIN and an insert, then the socket is gone without COMMIT or Terminate.
      const dropped = new pg.Client({ connectionString: url });
      dropped.on('error', () => undefined);
      await dropped.connect();
      await dropped.query('BEGIN');
      await dropped.query('insert into tenants (id, name) values ($1, $2)', [randomUUID(), name]);
      dropped.connection.stream.destroy();

      // Mid-cycle outside a transaction: Parse, Bind and Execute of an insert arrive, the Sync never does.
      const raw = await rawSession(url);
      raw.write(Buffer.concat([parse(`insert into tenants (id, name) values ('${randomUUID()}', '${name}')`), bind(), execute()]));
      await untilMessage(raw, 'C');
      raw.destroy();

      // In a transaction whose last cycle failed: the backend skips everything until a Sync.
      const failed = await rawSession(url);
      const begun = untilMessage(failed, 'Z');
      failed.write(message('Q', cstring('BEGIN')));
      await begun;
      const inserted = untilMessage(failed, 'C');
      failed.write(Buffer.concat([parse(`insert into tenants (id, name) values ('${randomUUID()}', '${name}')`), bind(), execute()]));
      await inserted;
      const rejected = untilMessage(failed, 'E');
      failed.write(Buffer.concat([parse('select no_such_column'), bind()]));
      await rejected;
      failed.destroy();

      const { rows } = await other.query<{ n: number }>('select count(*)::int as n from tenants where name = $1', [name]);
      expect(rows).toEqual([{ n: 0 }]);
      const status = await other.query<{ n: number }>('select $1::int as n', [7]);
      expect(status.rows).toEqual([{ n: 7 }]);
    } finally {
      await other.end();
    }
  });

  it('keeps its data across a stop and a start on the same folder', async () => {
    expect(await running!.stop(10_000)).toBe(0);
    const port = await freePort();
    const restarted = await startEmbeddedPostgresProcess({ dataDir, port });
    running = restarted.process;

    const client = new pg.Client({ connectionString: restarted.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('select name from tenants where id = $1', [tenantId]);
      expect(rows).toEqual([{ name: 'Acme Freight' }]);
    } finally {
      await client.end();
    }
    const db = createDatabase(restarted.url, { max: 1 });
    try {
      expect(await migrateToLatest(db)).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a second server on a data folder that is in use', async () => {
    const port = await freePort();
    await expect(startEmbeddedPostgresProcess({ dataDir, port })).rejects.toThrow(/exited \(1\)/);
  });
});

// A bare wire-protocol session, to stop half-way through an extended-protocol cycle as no driver would.
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstring = (text: string) => Buffer.from(`${text}\0`);
const parse = (text: string) => message('P', cstring(''), cstring(text), Buffer.alloc(2));
const bind = () => message('B', cstring(''), cstring(''), Buffer.alloc(6));
const execute = () => message('E', cstring(''), Buffer.alloc(4));

/** Resolves once a backend message of this type has arrived (messages read whole from the start). */
function untilMessage(socket: Socket, type: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      received = Buffer.concat([received, data]);
      while (received.length >= 5 && received.length >= 1 + received.readInt32BE(1)) {
        const found = String.fromCharCode(received[0]!);
        received = received.subarray(1 + received.readInt32BE(1));
        if (found === type) {
          socket.off('data', onData);
          resolve();
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function rawSession(connectionString: string): Promise<Socket> {
  const { hostname, port } = new URL(connectionString);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const params = Buffer.concat([cstring('user'), cstring('postgres'), cstring('database'), cstring('postgres'), Buffer.alloc(1)]);
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  const ready = untilMessage(socket, 'Z');
  socket.write(Buffer.concat([startup, params]));
  await ready;
  return socket;
}
