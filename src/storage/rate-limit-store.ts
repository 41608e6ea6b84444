import { createHash } from 'node:crypto';
import type { IncrementResponse, Options, Store } from 'express-rate-limit';
import type { Database } from './database.ts';
import { execute, query } from './raw-sql.ts';
import { instant, integer, type SqlInstant, type SqlInteger } from './sql-values.ts';

/**
 * express-rate-limit counters kept in Custos's own database, so every replica
 * shares one budget per key (N replicas must not give an attacker N times the
 * guesses). PostgreSQL was chosen over Redis: it is already there, one upsert
 * is one round trip, and an outage fails the request closed (503) like every
 * other database error. Each increment is a single statement that also opens
 * a new window when the old one has ended.
 */
export class DatabaseRateLimitStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  constructor(
    private readonly db: Database,
    readonly prefix: string,
  ) {}

  /** Keys hold client addresses and usernames: the table keeps only their hash. */
  private rowKey(key: string): string {
    return createHash('sha256').update(`${this.prefix}${key}`).digest('base64url');
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<IncrementResponse> {
    const now = new Date();
    const resetAt = new Date(now.getTime() + this.windowMs);
    const [row] = await this.db.transaction((tx) =>
      query<{ hits: SqlInteger; resetAt: SqlInstant }>(
        tx,
        `INSERT INTO rate_limit (key, hits, reset_at) VALUES (?, 1, ?)
         ON CONFLICT (key) DO UPDATE SET
           hits = CASE WHEN rate_limit.reset_at <= ? THEN 1 ELSE rate_limit.hits + 1 END,
           reset_at = CASE WHEN rate_limit.reset_at <= ? THEN excluded.reset_at ELSE rate_limit.reset_at END
         RETURNING hits, reset_at AS "resetAt"`,
        [this.rowKey(key), resetAt, now, now],
      ),
    );
    return { totalHits: integer(row!.hits), resetTime: instant(row!.resetAt) };
  }

  async decrement(key: string): Promise<void> {
    await this.db.transaction((tx) => execute(tx, 'UPDATE rate_limit SET hits = hits - 1 WHERE key = ? AND hits > 0', [this.rowKey(key)]));
  }

  async resetKey(key: string): Promise<void> {
    await this.db.transaction((tx) => execute(tx, 'DELETE FROM rate_limit WHERE key = ?', [this.rowKey(key)]));
  }
}

/** Windows that ended are of no use to anyone (the maintenance sweep removes them). */
export async function deleteEndedWindows(db: Database, before: Date): Promise<number> {
  return db.transaction((tx) => execute(tx, 'DELETE FROM rate_limit WHERE reset_at < ?', [before]));
}
