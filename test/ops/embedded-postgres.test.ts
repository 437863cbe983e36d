// The embedded Postgres of `npm start`, for real: the script runs as its own process on a free port
// with a throw-away data folder, the project's migrations run through Kysely + pg, several pooled
// connections work at once, and data survives a restart.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
  const tenantId = randomUUID();

  afterAll(async () => {
    await running?.stop(10_000);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('applies the migrations through pg and serves several pooled connections at once', async () => {
    const port = await freePort();
    const started = await startEmbeddedPostgresProcess({ dataDir, port });
    running = started.process;
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
