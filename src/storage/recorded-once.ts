import type { Database } from './database.ts';

/**
 * A value fixed at a database's first start (a one-row table, id 1, with
 * `column` and `recorded_at`): the first process records its own, every later
 * one reads the recorded one (a plain read on every later start; of racing
 * first starts, one wins). Table and column names are ours, never input.
 */
export async function recordedOnce(db: Database, table: string, column: string, value: string, at: Date): Promise<string> {
  const read = async () => (await db.readRaw<{ value: string }>(`SELECT ${column} AS "value" FROM ${table} WHERE id = 1`))[0]?.value;
  const recorded = await read();
  if (recorded !== undefined) return recorded;
  await db.writeAlone([{ sql: `INSERT INTO ${table} (id, ${column}, recorded_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`, params: [value, at] }]);
  return (await read())!;
}
