import { createHash } from 'node:crypto';
import type { SqlStatement } from './raw-sql.ts';

export type Engine = 'sqlite' | 'postgresql';

/** Keys whose writers must take turns, each with the hash seed it has always had (a rolling upgrade keeps old and new replicas excluding each other). */
export const LOCK_NAMESPACES = { consent: 7, contact: 11 } as const;
export type LockNamespace = keyof typeof LOCK_NAMESPACES;

/**
 * Everything that differs between the two engines, in one object per engine
 * (as Kysely's dialect adapters do): placeholders and values, locks, lists
 * bound as one parameter, JSON, row locks, how a transaction's last writes
 * are sent, and how a guard re-checks what a decision read. Stores and the
 * storage layer ask the adapter; no other code asks which engine runs.
 * A conformance suite (test/storage/engine-conformance.test.ts) runs the
 * same cases against both.
 */
export interface EngineAdapter {
  readonly kind: Engine;
  /** A `?` statement as the engine takes it. */
  adapt(sql: string): string;
  /** A value as the engine stores it, so rows written in SQL read back through Prisma. */
  param(value: unknown): unknown;
  /** `column` is one of the values of a list bound as one parameter (listParam): one statement shape whatever the list's length. */
  inList(column: string): string;
  listParam(values: readonly string[]): unknown;
  /** The rows of a JSON array bound as one parameter, as a table with one column `value` (text). */
  jsonElements(): string;
  /** `expression` as a 64-bit integer, and as a timestamp (a value compared with a DateTime column). */
  asBigint(expression: string): string;
  asTimestamp(expression: string): string;
  /** A JSON object of named SQL expressions, and a JSON array of each row's expressions aggregated over a query's rows. */
  jsonObject(members: Record<string, string>): string;
  jsonRowsAgg(expressions: string[]): string;
  /**
   * The text of `expression` over all rows, ordered by `orderBy` in byte order
   * (collation C, as JavaScript compares code units for ASCII), joined by
   * commas, as the hex MD5 that orderedDigestOf computes of the same texts.
   */
  orderedDigest(expression: string, orderBy: string): string;
  /** The statement that takes these advisory keys until the transaction ends, in the order given; none where writers are serialised. */
  lockKeys(namespace: LockNamespace, keys: readonly string[]): SqlStatement | undefined;
  /** A table lock until the transaction ends; none where writers are serialised. */
  lockTable(table: string, mode: 'ROW EXCLUSIVE' | 'EXCLUSIVE'): SqlStatement | undefined;
  /** The clause a read adds to hold the rows it will change or delete until the transaction ends ('' where writers are serialised). */
  rowLock(strength: 'update' | 'no-key-update', options?: { skipLocked?: boolean }): string;
  /** Statements of a transaction's last step, as they are sent: PostgreSQL combines them into one when they fit. */
  lastWrites(statements: SqlStatement[]): SqlStatement[];
  /**
   * A guard that, as the write commits, takes `key`'s lock (as the writers
   * of that key do), evaluates `check` (a scalar query, `?` placeholders) in
   * a snapshot taken after the lock, and refuses the write unless it gives
   * `expected`. SQLite evaluates it in the write's own transaction, which
   * holds the one write lock already.
   */
  recheckUnderLock(namespace: LockNamespace, key: string, check: SqlStatement, expected: string, what: string): SqlStatement;
}

/** A guard over a condition evaluated in the write's own statement (custos_require, on both engines). */
export function requireThat(condition: string, params: unknown[], what: string): SqlStatement {
  return { sql: `custos_require(${condition}, '${what.replace(/'/g, "''")}')`, params };
}

/**
 * `?` placeholders as PostgreSQL's `$1, $2, …`. A `?` inside a string literal,
 * a quoted identifier, a comment or a dollar-quoted body is text, not a
 * placeholder; `??` stands for a literal `?` (PostgreSQL's jsonb operator).
 */
export function numberedPlaceholders(sql: string): string {
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

// Both engines accept at least 32,766 bound parameters per statement.
export const MAX_PARAMETERS = 30_000;

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

export const postgresEngine: EngineAdapter = {
  kind: 'postgresql',
  adapt: numberedPlaceholders,
  param: (value) => value,
  inList: (column) => `${column} = ANY(?::text[])`,
  listParam: (values) => [...values],
  jsonElements: () => 'jsonb_array_elements_text(?::jsonb) AS elements(value)',
  asBigint: (expression) => `(${expression})::bigint`,
  asTimestamp: (expression) => `(${expression})::timestamp`,
  jsonObject: (members) =>
    `json_build_object(${Object.entries(members)
      .map(([name, sql]) => `'${name}', ${sql}`)
      .join(', ')})`,
  jsonRowsAgg: (expressions) => `COALESCE(json_agg(json_build_array(${expressions.join(', ')})), '[]'::json)`,
  orderedDigest: (expression, orderBy) => `md5(COALESCE(string_agg(${expression}, ',' ORDER BY ${orderBy} COLLATE "C"), ''))`,
  lockKeys: (namespace, keys) =>
    keys.length === 0
      ? undefined
      : {
          sql: `SELECT pg_advisory_xact_lock(hashtextextended(k, ${LOCK_NAMESPACES[namespace]})) FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS t(k, n) ORDER BY n`,
          params: [JSON.stringify(keys.map((key) => `${namespace}:${key}`))],
        },
  lockTable: (table, mode) => ({ sql: `LOCK TABLE ${table} IN ${mode} MODE`, params: [] }),
  rowLock: (strength, options = {}) => `${strength === 'update' ? ' FOR UPDATE' : ' FOR NO KEY UPDATE'}${options.skipLocked ? ' SKIP LOCKED' : ''}`,
  lastWrites(statements) {
    const combined = combinedStatement(statements);
    return combined ? [combined] : statements;
  },
  // custos_recheck_locked (migration 0017) takes the lock, then runs the check as its own statement, in a new snapshot.
  recheckUnderLock: (namespace, key, check, expected, what) => ({
    sql: `custos_recheck_locked(hashtextextended(?, ${LOCK_NAMESPACES[namespace]}), ?, ?::text[], ?, ?)`,
    params: [`${namespace}:${key}`, numberedArrayPlaceholders(check.sql), check.params.map(asText), expected, what],
  }),
};

/** A check for custos_recheck_locked: its `?` as elements of the one text[] argument, cast back by the check where it needs another type. */
function numberedArrayPlaceholders(sql: string): string {
  let n = 0;
  return numberedPlaceholders(sql).replace(/\$(\d+)/g, () => `$1[${++n}]`);
}

const asText = (value: unknown): string | null => (value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : String(value));

export const sqliteEngine: EngineAdapter = {
  kind: 'sqlite',
  adapt: (sql) => sql,
  param(value) {
    if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value;
  },
  inList: (column) => `${column} IN (SELECT value FROM json_each(?))`,
  listParam: (values) => JSON.stringify(values),
  jsonElements: () => 'json_each(?)',
  asBigint: (expression) => `CAST(${expression} AS INTEGER)`,
  // Timestamps are ISO text (param), compared as text.
  asTimestamp: (expression) => expression,
  jsonObject: (members) =>
    `json_object(${Object.entries(members)
      .map(([name, sql]) => `'${name}', ${sql}`)
      .join(', ')})`,
  jsonRowsAgg: (expressions) => `json_group_array(json_array(${expressions.join(', ')}))`,
  // string_agg with ORDER BY is SQLite 3.44 on (better-sqlite3 ships 3.53); custos_md5 is registered on each connection.
  orderedDigest: (expression, orderBy) => `custos_md5(COALESCE(string_agg(${expression}, ',' ORDER BY ${orderBy}), ''))`,
  lockKeys: () => undefined,
  lockTable: () => undefined,
  rowLock: () => '',
  lastWrites: (statements) => statements,
  recheckUnderLock: (_namespace, _key, check, expected, what) => requireThat(`(${check.sql}) IS ?`, [...check.params, expected], what),
};

/** What EngineAdapter.orderedDigest gives for these texts, computed here (ASCII texts, sorted by their sort keys in byte order). */
export function orderedDigestOf(rows: ReadonlyArray<{ text: string; orderBy: string }>): string {
  const sorted = [...rows].sort((a, b) => (a.orderBy < b.orderBy ? -1 : a.orderBy > b.orderBy ? 1 : 0));
  return createHash('md5')
    .update(sorted.map((r) => r.text).join(','))
    .digest('hex');
}

export const engineAdapter = (kind: Engine): EngineAdapter => (kind === 'postgresql' ? postgresEngine : sqliteEngine);
