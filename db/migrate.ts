import { Migrator, type Kysely } from 'kysely';
import { migrations } from './migrations/index.js';
import { createDatabase } from './connection.js';
import { loadEnv } from '../infra/env.js';
import { ensurePositionPartitions } from './repositories/position-partitions.js';

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  // positions is partitioned by month (2026_12_02_0012): the months ahead exist before anything
  // runs, whatever the date the schema was created on (the worker keeps them ahead afterwards).
  await ensurePositionPartitions(db);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const db = createDatabase(env.DATABASE_URL, { max: 1 });
  const applied = await migrateToLatest(db);
  console.log(JSON.stringify({ applied }));
  await db.destroy();
}
