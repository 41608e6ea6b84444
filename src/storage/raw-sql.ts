import type { Tx } from './database.ts';
import { MAX_PARAMETERS } from './engine.ts';

/**
 * Plain SQL for the hot and bulk paths (audit appends, bulk loads), where
 * Prisma's per-query cost dominates: a 4,000-row createMany took 1.4 s here,
 * the same rows as multi-row INSERTs 50 ms. SQL is written with `?`
 * placeholders and adapted per engine. Only Custos's own transactions can run
 * it, because the transaction knows its engine.
 */

/**
 * Statements run directly on the connection that holds the transaction
 * (SQLite: the better-sqlite3 connection under Prisma's adapter, synchronous;
 * PostgreSQL: the pooled node-postgres connection), prepared once and kept.
 * Prisma's raw-query path costs ~50 µs a call; this one a few.
 */
export interface NativeStatements {
  run(sql: string, params: unknown[]): number | Promise<number>;
  all<T>(sql: string, params: unknown[]): T[] | Promise<T[]>;
}

/** `?, ?, ?` for a list of `count` values (an IN list or a row). */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

export async function execute(tx: Tx, sql: string, params: unknown[] = []): Promise<number> {
  const { adapter, native } = tx.unit;
  const values = params.map((p) => adapter.param(p));
  return native ? native.run(sql, values) : tx.$executeRawUnsafe(adapter.adapt(sql), ...values);
}

/** Statements one after another in the transaction; answers the rows the last one wrote. */
export async function executeAll(tx: Tx, statements: readonly SqlStatement[]): Promise<number> {
  let written = 0;
  for (const { sql, params } of statements) written = await execute(tx, sql, params);
  return written;
}

/** Rows as the driver returns them: SQLite integers as bigint, dates as ISO text. */
export async function query<T>(tx: Tx, sql: string, params: unknown[] = []): Promise<T[]> {
  const { adapter, native } = tx.unit;
  const values = params.map((p) => adapter.param(p));
  return native ? native.all<T>(sql, values) : tx.$queryRawUnsafe<T[]>(adapter.adapt(sql), ...values);
}

/** A prepared-statement cache over one better-sqlite3 connection. */
export function nativeStatements(connection: { prepare(sql: string): { run(...params: unknown[]): { changes: number }; all(...params: unknown[]): unknown[] } }) {
  type Statement = ReturnType<typeof connection.prepare>;
  const statements = new Map<string, Statement>();
  const prepared = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      // Multi-row inserts vary in shape; keep the cache bounded.
      if (statements.size >= 500) statements.clear();
      statements.set(sql, (statement = connection.prepare(sql)));
    }
    return statement;
  };
  return {
    run: (sql: string, params: unknown[]) => prepared(sql).run(...params).changes,
    all: <T>(sql: string, params: unknown[]) => prepared(sql).all(...params) as T[],
  };
}

/** One statement with `?` placeholders and its values. */
export interface SqlStatement {
  sql: string;
  params: unknown[];
}

/** Rows of one table that another module writes together with its own (see Database.writeAlone). Table and column names are ours, never user input. */
export interface TableRows {
  table: string;
  columns: readonly string[];
  rows: unknown[][];
}

/**
 * Multi-row INSERTs for these rows, in chunks under the parameter limit. With
 * `replaceOn` (a unique key's columns), a row whose key exists replaces that
 * row's other columns (an upsert; one row per key in one call).
 */
export function insertStatements({ table, columns, rows }: TableRows, options: { replaceOn?: readonly string[] } = {}): SqlStatement[] {
  const perChunk = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  const tuple = `(${placeholders(columns.length)})`;
  const key = options.replaceOn;
  const tail = key
    ? ` ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${columns
        .filter((c) => !key.includes(c))
        .map((c) => `${c} = excluded.${c}`)
        .join(', ')}`
    : '';
  const out: SqlStatement[] = [];
  for (let i = 0; i < rows.length; i += perChunk) {
    const chunk = rows.slice(i, i + perChunk);
    out.push({ sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}${tail}`, params: chunk.flat() });
  }
  return out;
}

/** Multi-row INSERT in a transaction, in chunks. */
export async function insertRows(tx: Tx, table: string, columns: readonly string[], rows: unknown[][]): Promise<void> {
  await executeAll(tx, insertStatements({ table, columns, rows }));
}

/** The SQLSTATE a write guard raises when its condition no longer holds (custos_require, custos_recheck_locked; on SQLite the registered custos_require). */
export const GUARD_REFUSED = 'CX409';

/** Whether a write failed because one of its guards refused it (also when wrapped as 503 Unavailable). */
export function guardRefused(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if ((e as { code?: unknown }).code === GUARD_REFUSED) return true;
  return false;
}
