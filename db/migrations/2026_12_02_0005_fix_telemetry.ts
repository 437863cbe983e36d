// Frozen in time: never edit after it has landed; add a new migration instead.
// The telematics readings real trackers send with a fix, and a bounded jsonb of vendor-specific ones.
import { sql, type Kysely } from 'kysely';

const COLUMNS = [
  ['altitude_m', 'double precision'],
  ['satellites', 'integer'],
  ['hdop', 'double precision'],
  ['ignition', 'boolean'],
  ['battery_pct', 'double precision'],
  ['battery_v', 'double precision'],
  ['odometer_km', 'double precision'],
  ['humidity_pct', 'double precision'],
  ['door_open', 'boolean'],
  ['event_code', 'text'],
  ['attributes', 'jsonb'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  const additions = COLUMNS.map(([name, type]) => sql`add column ${sql.ref(name)} ${sql.raw(type)}`);
  await sql`alter table positions ${sql.join(additions)}`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  const drops = COLUMNS.map(([name]) => sql`drop column ${sql.ref(name)}`);
  await sql`alter table positions ${sql.join(drops)}`.execute(db);
}
