import type { Tx } from '../../src/storage/database.ts';
import { query } from '../../src/storage/raw-sql.ts';
import type { TestGateway } from './gateway.ts';

/** The PostgreSQL backend running this transaction, to watch who waits for its locks. */
export async function backendOf(tx: Tx): Promise<number> {
  const [row] = await query<{ pid: number }>(tx, 'SELECT pg_backend_pid() AS pid');
  return Number(row!.pid);
}

/**
 * Resolves once some other backend is waiting for a lock this one holds
 * (PostgreSQL's own account: pg_blocking_pids), so a test asserts that a
 * waiter waits because it is blocked, never because a pause ran out.
 */
export async function someoneWaitsFor(gateway: TestGateway, holder: number): Promise<void> {
  for (;;) {
    const [row] = await gateway.runtime.db.readRaw<{ n: number | string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE ?::int = ANY(pg_blocking_pids(pid))', [holder]);
    if (Number(row!.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
