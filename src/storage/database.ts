import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import SqliteDatabase from 'better-sqlite3';
import type { DatabaseConfig } from '../config.ts';
import { Unavailable } from '../shared/errors.ts';
import { asUnavailable } from './storage-errors.ts';
import { createBatches } from './grouped-transactions.ts';
import { createPostgresAdapter, postgresStatements, withTransactionConnection } from './postgres-native.ts';
import { openWatchedPool } from './postgres-pool.ts';
import { combinedStatement, engineAdapter, type EngineAdapter } from './engine.ts';
import { execute, executeAll, GUARD_REFUSED, guardRefused, nativeStatements, query, type NativeStatements, type SqlStatement } from './raw-sql.ts';
import { PrismaClient as PostgresClient, type Prisma } from '../generated/postgresql/client.ts';
import { openUnitOfWork, type UnitOfWork } from './unit-of-work.ts';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client.ts';

/**
 * Both generated clients come from one model (prisma/schema.prisma), so they
 * expose the same delegates; modules are typed against the PostgreSQL one.
 * Stores must not use provider-only options such as `skipDuplicates`.
 */
export type DbClient = PostgresClient;
/** One of Custos's write transactions: Prisma's transaction client, and the unit of work it gathers (`unit`). */
export type Tx = Prisma.TransactionClient & { readonly unit: UnitOfWork };

export { DatabaseStuck, isForeignKeyViolation, isStorageError, isUniqueViolation } from './storage-errors.ts';

export interface Database {
  readonly kind: DatabaseConfig['kind'];
  /** Every difference between the engines, for the stores' SQL. */
  readonly adapter: EngineAdapter;
  /** Reads outside a transaction; sees committed data only. */
  readonly read: DbClient;
  /** A read in plain SQL (`?` placeholders) for hot paths where one joined query replaces several Prisma calls. */
  readRaw<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `work` in one transaction; errors from the database become 503 Unavailable. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Writes that commit together and need nothing read under a lock (`?`
   * placeholders), kept only if every guard still holds as they are written:
   * false, and nothing written, when one does not. A guard is a SQL
   * expression that raises GUARD_REFUSED when its condition fails
   * (requireThat, EngineAdapter.recheckUnderLock), so a decision made on
   * values read a statement earlier commits with no lock held meanwhile.
   * PostgreSQL sends it all as one statement with no BEGIN and COMMIT (the
   * guards are its main query): one round trip. SQLite runs it in a write
   * transaction (its one write lock; no round trip to save), the guards last.
   */
  writeAlone(statements: readonly SqlStatement[], guards?: readonly SqlStatement[]): Promise<boolean>;
  /**
   * An online copy of the whole database to `destination` (a new file: the caller checks none is there),
   * taken while the gateway serves: SQLite's backup API copies a consistent
   * snapshot page by page. PostgreSQL has its own tools for this (pg_dump,
   * pg_basebackup): undefined there.
   */
  backup?(destination: string): Promise<{ pages: number }>;
  /** PostgreSQL: what the watchdog over the server has found (postgres-pool.ts); undefined on SQLite. */
  readonly watchdog?: { readonly stuck: boolean; readonly verdicts: { readonly answering: number; readonly stuck: number } };
  ping(): Promise<void>;
  /** Throws when the database answers but cannot take a write (disk full, read-only, a standby). */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}

const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 20_000 };
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * One of Custos's own transactions, on either engine: handed its unit of work
 * (`tx.unit`), `first` run before the work (SQLite takes its write lock
 * there), the unit's last writes (the audit events, a group's reservations, the
 * consent ledger's entries) as its last step, on PostgreSQL as one statement
 * when they fit in one, and the unit's after-commit work once it has
 * committed. Errors from the database become 503 Unavailable (or 404 for a
 * subject erased meanwhile).
 */
async function runTransaction<T>(
  client: DbClient,
  binding: { owner: Database; native?: () => NativeStatements | undefined; first?: (tx: Tx) => Promise<unknown>; options?: { maxWait: number; timeout: number } },
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  let opened: ReturnType<typeof openUnitOfWork> | undefined;
  // From here on the COMMIT is on its way: a failure without an answer may have committed.
  let committing = false;
  try {
    const result = await client.$transaction(async (prisma) => {
      opened = openUnitOfWork(binding.owner.adapter, binding.owner, binding.native?.());
      const tx = withUnit(prisma, opened.unit);
      await binding.first?.(tx);
      const out = await work(tx);
      await executeAll(tx, opened.lastWrites());
      committing = true;
      return out;
    }, binding.options ?? TRANSACTION_OPTIONS);
    opened?.committed();
    return result;
  } catch (error) {
    throw asUnavailable(error, committing);
  }
}

/**
 * Prisma's transaction client with this transaction's unit of work beside it.
 * A view, not a change: Prisma hands out the same client object to other
 * transactions, so nothing is set on it.
 */
function withUnit(prisma: Prisma.TransactionClient, unit: UnitOfWork): Tx {
  return new Proxy(prisma, {
    get(target, property) {
      if (property === 'unit') return unit;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Tx;
}

/** The guards of a write as the one query that evaluates them all. */
const guardQuery = (guards: readonly SqlStatement[]): SqlStatement => ({ sql: `SELECT ${guards.map((g) => g.sql).join(', ')}`, params: guards.flatMap((g) => g.params) });

/** Runs a guarded write; false when a guard refused it (nothing was written). */
async function keptUnlessRefused(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (guardRefused(error)) return false;
    throw error;
  }
}

/**
 * The functions guards and digests call, on a SQLite connection (PostgreSQL
 * has them from its migrations): custos_require raises the guard's refusal
 * as PostgreSQL's does (the same SQLSTATE as the error's code), custos_md5
 * digests what a decision counted (EngineAdapter.orderedDigest).
 */
function registerSqliteFunctions(connection: SqliteDatabase.Database): void {
  connection.function('custos_require', { varargs: false, deterministic: false }, (ok: unknown, what: unknown) => {
    if (ok !== 1 && ok !== 1n && ok !== true) throw Object.assign(new Error(`guard refused: ${String(what)}`), { code: GUARD_REFUSED });
    return 1;
  });
  connection.function('custos_md5', { deterministic: true }, (text: unknown) =>
    createHash('md5')
      .update(String(text ?? ''))
      .digest('hex'),
  );
}

/**
 * One plain statement outside a transaction; errors from the database become
 * 503 Unavailable, or OutcomeUnknown for a write (`commits`: the statement is
 * its own transaction) that was sent and got no answer.
 */
async function rawStatement<T>(send: () => T | Promise<T>, commits = false): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw asUnavailable(error, commits);
  }
}

/**
 * A Prisma client over better-sqlite3 that also hands out the connection under
 * it, so raw statements of a transaction can run on that connection directly
 * (the adapter keeps the connection in its `client` field; checked on connect).
 */
function createSqliteClient(file: string): { client: SqliteClient; connection: () => SqliteDatabase.Database | undefined } {
  const factory = new PrismaBetterSqlite3({ url: `file:${file}`, timeout: SQLITE_BUSY_TIMEOUT_MS });
  let connection: SqliteDatabase.Database | undefined;
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    const candidate = (adapter as unknown as { client?: unknown }).client;
    if (candidate instanceof SqliteDatabase) connection = candidate;
    return adapter;
  };
  return { client: new SqliteClient({ adapter: factory, errorFormat: 'minimal' }), connection: () => connection };
}

/**
 * SQLite: one writer connection (the adapter serialises its transactions with a
 * mutex) and one reader connection, so reads never run inside another request's
 * open transaction. Every write transaction first takes SQLite's write lock, so a
 * second process (the CLI while `custos serve` runs) waits on the busy timeout
 * instead of failing with SQLITE_BUSY when a read transaction tries to upgrade.
 */
// SQLite's default page cache is 2 MB; indexes of 80,000 subjects outgrow it and every
// insert into a random-keyed index then reads pages from disk.
const SQLITE_CACHE_KIB = 64 * 1024;

/**
 * The hot-path reader for SQLite: better-sqlite3 itself, read-only, with its
 * prepared statements kept. A WAL reader never takes the write lock, so this
 * synchronous connection cannot block behind the writer; through Prisma the
 * same query costs about 0.25 ms, here a few microseconds.
 */
function nativeSqliteReader(file: string) {
  const connection = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  connection.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  registerSqliteFunctions(connection);
  return { statements: nativeStatements(connection), close: () => connection.close() };
}

async function openSqlite(config: DatabaseConfig): Promise<Database> {
  fs.mkdirSync(path.dirname(config.url), { recursive: true });
  const { client: writer, connection: writerConnection } = createSqliteClient(config.url);
  const { client: reader } = createSqliteClient(config.url);
  for (const client of [writer, reader]) await client.$queryRawUnsafe(`PRAGMA cache_size = -${SQLITE_CACHE_KIB}`);
  const native = nativeSqliteReader(config.url);
  const connection = writerConnection();
  // The guards' functions live on the connection, so it must be ours to reach (the adapter keeps it in its `client` field).
  if (!connection) throw new Error("the SQLite adapter did not show its connection; this build of Custos needs @prisma/adapter-better-sqlite3's connection to register its guard functions");
  registerSqliteFunctions(connection);
  // Deleted rows (an erasure's) are overwritten with zeros, not left readable in free pages of the file.
  connection.pragma('secure_delete = ON');
  const writerStatements = nativeStatements(connection);
  const read = reader as unknown as DbClient;
  const adapter = engineAdapter('sqlite');
  // Guarded writes that arrive together share one transaction (one commit, one fsync). Each item's guards are
  // evaluated before its writes: the writers take turns on SQLite, so nothing can change between the two, and a
  // guard that refuses leaves nothing of its item to undo (the guards never read their own item's rows). The
  // item answers false and the others commit; a write that fails otherwise fails the group, which then runs
  // each item alone (createBatches), so it answers only its own request.
  const guardedWrites = createBatches<{ writes: readonly SqlStatement[]; guards: readonly SqlStatement[] }, boolean>(200, (items) =>
    database.transaction(async (tx) => {
      const kept: boolean[] = [];
      for (const { writes, guards } of items) {
        const check = guardQuery(guards);
        const holds = await keptUnlessRefused(() => query(tx, check.sql, check.params));
        if (holds) await executeAll(tx, writes);
        kept.push(holds);
      }
      return kept;
    }),
  );
  const database: Database = {
    kind: 'sqlite',
    adapter,
    read,
    readRaw: <T>(sql: string, params: unknown[] = []) =>
      rawStatement(() =>
        native.statements.all<T>(
          sql,
          params.map((p) => adapter.param(p)),
        ),
      ),
    transaction: (work) =>
      runTransaction(writer as unknown as DbClient, { owner: database, native: () => writerStatements, first: (tx) => execute(tx, 'UPDATE storage_write_lock SET id = id WHERE id = 1') }, work),
    writeAlone: (writes, guards = []) => (guards.length === 0 ? database.transaction((tx) => executeAll(tx, writes)).then(() => true) : guardedWrites.run({ writes, guards })),
    async backup(destination) {
      const { totalPages } = await connection.backup(destination);
      return { pages: totalPages };
    },
    async ping() {
      await read.$queryRawUnsafe('SELECT 1');
    },
    // A write transaction that changes nothing: its first statement rewrites the lock row, which
    // needs room in the write-ahead log, so a full disk or a read-only file fails it.
    probeWrite: () => database.transaction(async () => undefined),
    async close() {
      native.close();
      await Promise.all([writer.$disconnect(), reader.$disconnect()]);
    },
  };
  return database;
}

async function openPostgres(config: DatabaseConfig): Promise<Database> {
  // A server that stopped answering (paused, a network partition) ends every wait on it within
  // answerTimeoutMs; one that is only slow keeps its statements (postgres-pool.ts).
  const watched = openWatchedPool(config, config.answerTimeoutMs);
  const { pool } = watched;
  const client = new PostgresClient({ adapter: createPostgresAdapter(pool, config.schema), errorFormat: 'minimal' });
  const statements = postgresStatements(pool);
  const transactionOptions = { maxWait: config.statementTimeoutMs, timeout: config.statementTimeoutMs * 2 };
  const database: Database = {
    kind: 'postgresql',
    adapter: engineAdapter('postgresql'),
    watchdog: watched.watchdog,
    read: client,
    readRaw: (sql, params = []) => rawStatement(() => statements.all(sql, params)),
    writeAlone(writes, guards = []) {
      const all = guards.length > 0 ? [...writes, guardQuery(guards)] : [...writes];
      const combined = combinedStatement(all);
      return keptUnlessRefused(() =>
        combined
          ? rawStatement(() => statements.all(combined.sql, combined.params), true)
          : // Too many values for one statement: the same writes and guards, together, in a transaction.
            database.transaction((tx) => executeAll(tx, all)),
      );
    },
    transaction: (work) =>
      withTransactionConnection((connection) =>
        runTransaction(
          client,
          {
            owner: database,
            native: () => {
              const held = connection();
              return held && postgresStatements(held);
            },
            options: transactionOptions,
          },
          work,
        ),
      ),
    async ping() {
      // Natively, so a refusal of the watchdog's (DatabaseStuck) arrives as itself.
      await statements.all('SELECT 1', []);
    },
    async probeWrite() {
      const [row] = await client.$queryRawUnsafe<Array<{ writable: boolean }>>("SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable");
      if (!row?.writable) throw new Unavailable('the database is read-only');
    },
    async close() {
      await client.$disconnect();
      await watched.close();
    },
  };
  return database;
}

export function openDatabase(config: DatabaseConfig): Promise<Database> {
  return config.kind === 'sqlite' ? openSqlite(config) : openPostgres(config);
}
