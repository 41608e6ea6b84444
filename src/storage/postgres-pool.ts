import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import { DatabaseWatchdog } from './database-watchdog.ts';
import { inSpan } from '../shared/telemetry.ts';
import { DatabaseStuck } from './storage-errors.ts';

/** A statement's first keyword (SELECT, INSERT, WITH, COMMIT …): what a span says of it; the text stays out. */
function operationOf(config: unknown): string {
  const text = typeof config === 'string' ? config : typeof (config as { text?: unknown })?.text === 'string' ? (config as { text: string }).text : '';
  return /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
}

/**
 * The one pool of connections to PostgreSQL, shared by Prisma and Custos's
 * own statements, under a DatabaseWatchdog: every statement and every wait
 * for a connection is registered with it, so a server that stops answering
 * ends them all within `answerTimeoutMs` instead of whenever it wakes.
 */

type Callback = (error: Error | undefined, ...rest: unknown[]) => void;

/** Calls a pg-style function's callback form or returns its promise, from one promise. */
function settle<T>(promise: Promise<T>, callback: Callback | undefined, spread: (value: T) => unknown[] = (value) => [value]): Promise<T> | undefined {
  if (!callback) return promise;
  promise.then(
    (value) => callback(undefined, ...spread(value)),
    (error: Error) => callback(error),
  );
  return undefined;
}

function watchedClientClass(watchdog: DatabaseWatchdog): typeof pg.Client {
  class WatchedClient extends pg.Client {}
  // pg's own query, looked up at each call (so whatever wraps pg.Client's prototype, a test's recorder, sees every statement).
  const send = (client: pg.Client, ...args: unknown[]) => (pg.Client.prototype.query as (this: pg.Client, ...a: unknown[]) => unknown).apply(client, args);
  // Every statement on a pooled connection, in whichever form pg, pg-pool and Prisma's adapter call it.
  WatchedClient.prototype.query = function query(this: pg.Client, config: unknown, values?: unknown, callback?: unknown) {
    const done = typeof values === 'function' ? (values as Callback) : typeof callback === 'function' ? (callback as Callback) : undefined;
    const params = typeof values === 'function' ? undefined : values;
    if (typeof config === 'object' && config !== null && typeof (config as { submit?: unknown }).submit === 'function') {
      // A Submittable (a cursor, a stream) manages itself; Custos sends none.
      return send(this, config, params, done);
    }
    if (watchdog.stuck) {
      // Nothing is sent; the connection may be inside a transaction, so it is closed (the server rolls
      // that back) rather than handed back to the pool.
      void this.end().catch(() => undefined);
      return settle(Promise.reject(new DatabaseStuck()), done);
    }
    const end = watchdog.begin(() => void this.end().catch(() => undefined));
    const sent = inSpan('db.query', { 'db.system.name': 'postgresql', 'db.operation.name': operationOf(config) }, () => send(this, config, params) as Promise<unknown>).finally(end);
    return settle(sent, done);
  } as pg.Client['query'];
  return WatchedClient;
}

/** A pool whose connections are watched, and whose waits for a connection are too. */
function watchedPool(options: pg.PoolConfig, watchdog: DatabaseWatchdog): pg.Pool {
  class WatchedPool extends pg.Pool {}
  const base = pg.Pool.prototype.connect as (this: pg.Pool) => Promise<pg.PoolClient>;
  WatchedPool.prototype.connect = function connect(this: pg.Pool, callback?: Callback) {
    if (watchdog.stuck) return settle(Promise.reject(new DatabaseStuck()), callback, (client: pg.PoolClient) => [client, client.release]);
    const checkout = new Promise<pg.PoolClient>((resolve, reject) => {
      let settled = false;
      const end = watchdog.begin(() => {
        settled = true;
        reject(new DatabaseStuck());
      });
      base.call(this).then(
        (client) => {
          end();
          // A connection that arrives after its wait was abandoned goes straight back.
          if (settled) client.release();
          else resolve(client);
        },
        (error: Error) => {
          end();
          if (!settled) reject(error);
        },
      );
    });
    return settle(checkout, callback, (client) => [client, client.release]);
  } as typeof pg.Pool.prototype.connect;
  return new WatchedPool({ ...options, Client: watchedClientClass(watchdog) });
}

/**
 * The probe: `SELECT 1` on a connection of its own (not the pool's, which a
 * stuck server may have used up), opened at start so it holds its slot, and
 * opened again after a failure. Connecting and answering are each bounded by
 * `timeoutMs`.
 */
function createProbe(options: pg.ClientConfig, timeoutMs: number) {
  let client: pg.Client | undefined;
  const drop = (stale: pg.Client) => {
    if (client === stale) client = undefined;
    void stale.end().catch(() => undefined);
  };
  return {
    async probe(): Promise<void> {
      let current = client;
      try {
        if (!current) {
          current = client = new pg.Client({ ...options, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
          const opened = current;
          opened.on('error', () => drop(opened));
          await opened.connect();
        }
        await current.query('SELECT 1');
      } catch (error) {
        if (current) drop(current);
        throw error;
      }
    },
    close: () => client && drop(client),
  };
}

/**
 * The pool, its watchdog and the timer that runs the watchdog's checks.
 * The bound `answerTimeoutMs` is split as: a wait is judged after 40% of
 * it, the probe may take another 40%, and checks run every 5%.
 */
export function openWatchedPool(config: DatabaseConfig, answerTimeoutMs: number) {
  const connection: pg.ClientConfig = { connectionString: config.url, options: `-c search_path=${config.schema}`, keepAlive: true };
  const stallMs = Math.max(1, Math.floor(answerTimeoutMs * 0.4));
  const probe = createProbe(connection, stallMs);
  const watchdog = new DatabaseWatchdog(() => probe.probe(), { stallMs });
  // A database that is down fails the connection within connectTimeoutMs; the server ends
  // statements (lock waits included) and transactions that run or idle too long.
  const pool = watchedPool(
    {
      ...connection,
      max: config.poolSize,
      connectionTimeoutMillis: config.connectTimeoutMs,
      statement_timeout: config.statementTimeoutMs,
      query_timeout: config.statementTimeoutMs + 1000,
      idle_in_transaction_session_timeout: config.statementTimeoutMs * 2,
    },
    watchdog,
  );
  // An idle connection the server dropped (a restart) is discarded by the pool; the next checkout connects anew.
  pool.on('error', () => undefined);
  const timer = setInterval(() => void watchdog.check(), Math.max(10, Math.floor(answerTimeoutMs * 0.05)));
  timer.unref();
  // Open the probe's connection now, while the server answers; a failure here is the pool's to report.
  void probe.probe().catch(() => undefined);
  return {
    pool,
    watchdog,
    async close() {
      clearInterval(timer);
      probe.close();
      await pool.end();
    },
  };
}
