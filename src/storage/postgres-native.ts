import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { numberedPlaceholders } from './engine.ts';
import type { NativeStatements } from './raw-sql.ts';

/**
 * Custos's own SQL on PostgreSQL goes to node-postgres directly, not through
 * Prisma's raw-query path: profiled under load, Prisma's per-statement work
 * (its query interpreter, a stack trace captured per call) cost the gateway
 * more CPU than the statement itself, and on PostgreSQL the gateway's CPU is
 * the ceiling. Prisma and these statements share one pool, so pool size and
 * timeouts stay configured in one place.
 */

const TIMESTAMP = 1114;
const INT8 = 20;

/**
 * Rows decoded as Prisma's raw queries decode them, so a store reads the same
 * values on either path: `timestamp(3)` columns (Prisma's DateTime) hold UTC,
 * BIGINT comes back as bigint.
 */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP) return (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
    if (oid === INT8) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

// Statements with at most this many parameters are kept prepared on each connection
// (parsed and planned once); longer ones are multi-row or IN-list shapes that vary.
const MAX_NAMED_PARAMETERS = 32;
const MAX_CACHED = 2000;
const prepared = new Map<string, { text: string; name?: string }>();

/** The `$n` text of a `?` statement, adapted once, and its prepared-statement name when it is a fixed shape. */
function statementOf(sql: string, parameters: number): { text: string; name?: string } {
  let statement = prepared.get(sql);
  if (!statement) {
    if (prepared.size >= MAX_CACHED) prepared.clear();
    const text = numberedPlaceholders(sql);
    const name = parameters <= MAX_NAMED_PARAMETERS ? `custos_${createHash('sha256').update(text).digest('hex').slice(0, 24)}` : undefined;
    prepared.set(sql, (statement = { text, name }));
  }
  return statement;
}

// A Date goes as UTC text: node-postgres would write local time, which a `timestamp` column (no zone) keeps as is.
const valueOf = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value);

/** Custos's `?` statements on a pool (outside transactions) or on the connection a transaction holds. */
export function postgresStatements(client: pg.Pool | pg.PoolClient): NativeStatements {
  const send = (sql: string, params: unknown[]) => {
    const { text, name } = statementOf(sql, params.length);
    return client.query({ text, name, values: params.map(valueOf), types: TYPES });
  };
  return {
    run: async (sql, params) => (await send(sql, params)).rowCount ?? 0,
    all: async <T>(sql: string, params: unknown[]) => (await send(sql, params)).rows as T[],
  };
}

/** The connection of the transaction being opened in this async context; set when Prisma starts it. */
const opening = new AsyncLocalStorage<{ connection?: pg.PoolClient }>();

/**
 * Runs `start` (which opens a Prisma transaction) so that the connection the
 * transaction holds is known inside it: `connection()` returns it, or
 * undefined if the adapter did not show it (then statements take Prisma's path).
 */
export function withTransactionConnection<T>(start: (connection: () => pg.PoolClient | undefined) => Promise<T>): Promise<T> {
  const holder: { connection?: pg.PoolClient } = {};
  return opening.run(holder, () => start(() => holder.connection));
}

/**
 * Prisma's adapter over our pool, which also tells withTransactionConnection
 * which pooled connection each transaction took (the adapter's transaction
 * keeps it in its `client` field; checked by class before use).
 */
export function createPostgresAdapter(pool: pg.Pool, schema: string): PrismaPg {
  const factory = new PrismaPg(pool, { schema });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      const transaction = await start(isolationLevel);
      const holder = opening.getStore();
      const connection = (transaction as unknown as { client?: unknown }).client;
      if (holder && !holder.connection && connection instanceof pg.Client) holder.connection = connection as pg.PoolClient;
      return transaction;
    };
    return adapter;
  };
  return factory;
}
