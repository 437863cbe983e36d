// What the benchmarks share: a throw-away database on the machine's Postgres, the app on a real
// listener (no Temporal: the client connects lazily and these reads never use it), timed GETs with
// a key, and percentiles.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createApp } from '../api/app.js';
import { createDatabase } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Database } from '../db/schema.js';
import { createLogger } from '../infra/logger.js';

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
export const round = (ms: number) => Math.round(ms * 10) / 10;

async function admin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(statement);
  await client.end();
}

/** Runs `bench` on a freshly migrated database of its own, dropped afterwards whatever happens. */
export async function withBenchDatabase<T>(adminUrl: string, bench: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const name = `retrack_bench_${randomUUID().slice(0, 8)}`;
  await admin(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDatabase(url.toString());
  try {
    await migrateToLatest(db);
    return await bench(db);
  } finally {
    await db.destroy();
    await admin(adminUrl, `drop database if exists ${name} with (force)`);
  }
}

/** As withBenchDatabase, with the API listening on the database (closed afterwards). */
export function withBenchApi<T>(adminUrl: string, bench: (db: Kysely<Database>, api: BenchApi) => Promise<T>): Promise<T> {
  return withBenchDatabase(adminUrl, async (db) => {
    const api = await serveBenchApi(db);
    try {
      return await bench(db, api);
    } finally {
      await api.close();
    }
  });
}

export interface BenchApi {
  /** GETs the path with the key; throws unless 200. */
  get(path: string, apiKey: string): Promise<{ ms: number; bytes: number; body: string }>;
  close(): Promise<void>;
}

async function serveBenchApi(db: Kysely<Database>): Promise<BenchApi> {
  const app = createApp({ db, temporal: new Client(), logger: createLogger({ name: 'bench', level: 'silent' }) });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async get(path, apiKey) {
      const started = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path} → ${res.status}: ${body}`);
      return { ms: performance.now() - started, bytes: body.length, body };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
