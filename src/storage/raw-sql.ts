import type { Database, Tx } from './database.ts';

/**
 * Plain SQL for the hot and bulk paths (audit appends, bulk loads), where
 * Prisma's per-query cost dominates: a 4,000-row createMany took 1.4 s here,
 * the same rows as multi-row INSERTs 50 ms. SQL is written with `?`
 * placeholders and adapted per engine. Only Custos's own transactions can run
 * it, because the transaction knows its engine.
 */
type Engine = Database['kind'];
const engines = new WeakMap<object, Engine>();

export function registerTransaction(tx: Tx, engine: Engine): void {
  engines.set(tx, engine);
}

function engineOf(tx: Tx): Engine {
  const engine = engines.get(tx);
  if (!engine) throw new Error('raw SQL needs a transaction opened by Database.transaction');
  return engine;
}

export function adapt(engine: Engine, sql: string): string {
  if (engine === 'sqlite') return sql;
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Dates as Prisma stores them on each engine, so rows written here read back through Prisma. */
export function param(engine: Engine, value: unknown): unknown {
  if (value instanceof Date) return engine === 'sqlite' ? value.toISOString().replace('Z', '+00:00') : value;
  if (typeof value === 'boolean' && engine === 'sqlite') return value ? 1 : 0;
  return value;
}

export async function execute(tx: Tx, sql: string, params: unknown[] = []): Promise<number> {
  const engine = engineOf(tx);
  return tx.$executeRawUnsafe(adapt(engine, sql), ...params.map((p) => param(engine, p)));
}

export async function query<T>(tx: Tx, sql: string, params: unknown[] = []): Promise<T[]> {
  const engine = engineOf(tx);
  return tx.$queryRawUnsafe<T[]>(adapt(engine, sql), ...params.map((p) => param(engine, p)));
}

// Both engines accept at least 32,766 bound parameters per statement.
const MAX_PARAMETERS = 30_000;

/**
 * Multi-row INSERT in chunks; returns the rows inserted. With `skipExisting`,
 * rows that collide with a unique index are skipped (counted out), not errors.
 * Table and column names are ours, never user input.
 */
export async function insertRows(tx: Tx, table: string, columns: string[], rows: unknown[][], options: { skipExisting?: boolean } = {}): Promise<number> {
  const engine = engineOf(tx);
  const perChunk = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const verb = options.skipExisting && engine === 'sqlite' ? 'INSERT OR IGNORE' : 'INSERT';
  const tail = options.skipExisting && engine === 'postgresql' ? ' ON CONFLICT DO NOTHING' : '';
  let inserted = 0;
  for (let i = 0; i < rows.length; i += perChunk) {
    const chunk = rows.slice(i, i + perChunk);
    inserted += await execute(tx, `${verb} INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}${tail}`, chunk.flat());
  }
  return inserted;
}
