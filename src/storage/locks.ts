import type { Tx } from './database.ts';
import { engineOf, execute } from './raw-sql.ts';

/**
 * Keys whose writers must take turns. Each namespace keeps the hash seed it
 * has always had, so a replica of the previous version and one of this
 * version still exclude each other during a rolling upgrade.
 */
const NAMESPACES = { consent: 7, contact: 11 } as const;

/**
 * Serialises writers of one key until the transaction ends. PostgreSQL: a
 * transaction-scoped advisory lock, across every replica. SQLite: nothing to
 * take, since each write transaction already holds the database's one write lock.
 */
export async function lockKey(tx: Tx, namespace: keyof typeof NAMESPACES, key: string): Promise<void> {
  if (engineOf(tx) === 'postgresql') await execute(tx, `SELECT pg_advisory_xact_lock(hashtextextended(?, ${NAMESPACES[namespace]}))`, [`${namespace}:${key}`]);
}

/** A PostgreSQL table lock until the transaction ends (SQLite: as above, nothing to take). Table names are ours, never input. */
export async function lockTable(tx: Tx, table: string, mode: 'ROW EXCLUSIVE' | 'EXCLUSIVE'): Promise<void> {
  if (engineOf(tx) === 'postgresql') await execute(tx, `LOCK TABLE ${table} IN ${mode} MODE`);
}
