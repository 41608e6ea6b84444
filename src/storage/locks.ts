import type { Tx } from './database.ts';
import { execute } from './raw-sql.ts';

/**
 * Keys whose writers must take turns. Each namespace keeps the hash seed it
 * has always had, so a replica of the previous version and one of this
 * version still exclude each other during a rolling upgrade; the contact
 * lock is also taken by contact_slots_claim (migration 0015), with the same
 * key text and seed.
 */
const NAMESPACES = { consent: 7, contact: 11 } as const;

/**
 * Serialises writers of these keys until the transaction ends. PostgreSQL:
 * transaction-scoped advisory locks, across every replica, taken in one
 * statement in the order given (callers sort, so two groups never deadlock).
 * SQLite: nothing to take, since each write transaction already holds the
 * database's one write lock.
 */
export async function lockKeys(tx: Tx, namespace: keyof typeof NAMESPACES, keys: readonly string[]): Promise<void> {
  if (tx.unit.engine !== 'postgresql' || keys.length === 0) return;
  await execute(tx, `SELECT pg_advisory_xact_lock(hashtextextended(k, ${NAMESPACES[namespace]})) FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS t(k, n) ORDER BY n`, [
    JSON.stringify(keys.map((key) => `${namespace}:${key}`)),
  ]);
}

/** A PostgreSQL table lock until the transaction ends (SQLite: as above, nothing to take). Table names are ours, never input. */
export async function lockTable(tx: Tx, table: string, mode: 'ROW EXCLUSIVE' | 'EXCLUSIVE'): Promise<void> {
  if (tx.unit.engine === 'postgresql') await execute(tx, `LOCK TABLE ${table} IN ${mode} MODE`);
}
