import type { Tx } from './database.ts';
import type { LockNamespace } from './engine.ts';
import { execute } from './raw-sql.ts';

/**
 * Serialises writers of these keys until the transaction ends. PostgreSQL:
 * transaction-scoped advisory locks, across every replica, taken in one
 * statement in the order given (callers sort, so two groups never deadlock).
 * SQLite: nothing to take, since each write transaction already holds the
 * database's one write lock. The keys and their hash seeds are the engine
 * adapter's (LOCK_NAMESPACES), the one place that computes them.
 */
export async function lockKeys(tx: Tx, namespace: LockNamespace, keys: readonly string[]): Promise<void> {
  const statement = tx.unit.adapter.lockKeys(namespace, keys);
  if (statement) await execute(tx, statement.sql, statement.params);
}

/** A table lock until the transaction ends (SQLite: as above, nothing to take). Table names are ours, never input. */
export async function lockTable(tx: Tx, table: string, mode: 'ROW EXCLUSIVE' | 'EXCLUSIVE'): Promise<void> {
  const statement = tx.unit.adapter.lockTable(table, mode);
  if (statement) await execute(tx, statement.sql, statement.params);
}
