import type { Database, Tx } from './database.ts';

/**
 * Plain SQL for the hot and bulk paths (audit appends, bulk loads), where
 * Prisma's per-query cost dominates: a 4,000-row createMany took 1.4 s here,
 * the same rows as multi-row INSERTs 50 ms. SQL is written with `?`
 * placeholders and adapted per engine. Only Custos's own transactions can run
 * it, because the transaction knows its engine.
 */
type Engine = Database['kind'];

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

/**
 * `?` placeholders as PostgreSQL's `$1, $2, …`. A `?` inside a string literal,
 * a quoted identifier, a comment or a dollar-quoted body is text, not a
 * placeholder; `??` stands for a literal `?` (PostgreSQL's jsonb operator).
 * SQLite takes `?` as it is.
 */
export function adapt(engine: Engine, sql: string): string {
  if (engine === 'sqlite') return sql;
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length;) {
    const c = sql[i]!;
    const rest = sql.slice(i);
    const skipped =
      c === "'"
        ? /^'(?:[^']|'')*'/.exec(rest)
        : c === '"'
          ? /^"(?:[^"]|"")*"/.exec(rest)
          : c === '-' && sql[i + 1] === '-'
            ? /^--[^\n]*/.exec(rest)
            : c === '/' && sql[i + 1] === '*'
              ? /^\/\*[\s\S]*?\*\//.exec(rest)
              : c === '$'
                ? /^(\$[A-Za-z_]*\$)[\s\S]*?\1/.exec(rest)
                : null;
    if (skipped) {
      out += skipped[0];
      i += skipped[0].length;
    } else if (c === '?' && sql[i + 1] === '?') {
      out += '?';
      i += 2;
    } else if (c === '?') {
      out += `$${++n}`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Dates as Prisma stores them on each engine, so rows written here read back through Prisma. */
export function param(engine: Engine, value: unknown): unknown {
  if (value instanceof Date) return engine === 'sqlite' ? value.toISOString().replace('Z', '+00:00') : value;
  if (typeof value === 'boolean' && engine === 'sqlite') return value ? 1 : 0;
  return value;
}

/** `?, ?, ?` for a list of `count` values (an IN list or a row). */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

export async function execute(tx: Tx, sql: string, params: unknown[] = []): Promise<number> {
  const { engine, native } = tx.unit;
  const values = params.map((p) => param(engine, p));
  return native ? native.run(sql, values) : tx.$executeRawUnsafe(adapt(engine, sql), ...values);
}

/** Statements one after another in the transaction; answers the rows the last one wrote. */
export async function executeAll(tx: Tx, statements: readonly SqlStatement[]): Promise<number> {
  let written = 0;
  for (const { sql, params } of statements) written = await execute(tx, sql, params);
  return written;
}

/** Rows as the driver returns them: SQLite integers as bigint, dates as ISO text. */
export async function query<T>(tx: Tx, sql: string, params: unknown[] = []): Promise<T[]> {
  const { engine, native } = tx.unit;
  const values = params.map((p) => param(engine, p));
  return native ? native.all<T>(sql, values) : tx.$queryRawUnsafe<T[]>(adapt(engine, sql), ...values);
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

// Both engines accept at least 32,766 bound parameters per statement.
const MAX_PARAMETERS = 30_000;

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

/** The SQLSTATE a write guard raises when its condition no longer holds (migration 0015_guarded_writes). */
export const GUARD_REFUSED = 'CX409';

/**
 * A guard over a condition evaluated in the write's own statement (its
 * snapshot): `condition` is a boolean SQL expression, `what` says in the error
 * what failed (ours, never input). For conditions that no lock protects.
 */
export function requireThat(condition: string, params: unknown[], what: string): SqlStatement {
  return { sql: `custos_require(${condition}, '${what.replace(/'/g, "''")}')`, params };
}

/** Whether a write failed because one of its guards refused it (also when wrapped as 503 Unavailable). */
export function guardRefused(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if ((e as { code?: unknown }).code === GUARD_REFUSED) return true;
  return false;
}

/**
 * Several writes as one PostgreSQL statement, atomic on its own: every
 * statement but the last becomes a data-modifying WITH clause, which
 * PostgreSQL runs to completion whether or not the rest reads it. Placeholders
 * stay `?`, in text order, so the values simply follow one another. Undefined
 * for no writes, or when together they would pass the parameter limit (run
 * them one by one in a transaction then). The clauses run in no set order, so
 * callers combine writes to different tables, or ones whose order does not
 * matter; each is a plain INSERT, UPDATE or DELETE with no WITH of its own
 * (the last may be a SELECT: a guarded write's guards).
 */
export function combinedStatement(statements: readonly SqlStatement[]): SqlStatement | undefined {
  if (statements.length <= 1) return statements[0];
  if (statements.reduce((n, s) => n + s.params.length, 0) > MAX_PARAMETERS) return undefined;
  const clauses = statements.slice(0, -1).map((s, i) => `w${i} AS (${s.sql})`);
  return { sql: `WITH ${clauses.join(', ')} ${statements.at(-1)!.sql}`, params: statements.flatMap((s) => s.params) };
}
