import type { Database } from './database.ts';
import { isUniqueViolation } from './database.ts';

/**
 * A lease on a named background job, so that with several replicas one runs
 * it at a time (the retention sweep). A holder keeps its lease by taking it
 * again before it runs out; a replica that dies loses it when it runs out.
 */
export async function takeLease(db: Database, name: string, holder: string, forMs: number): Promise<boolean> {
  const now = new Date();
  const until = new Date(now.getTime() + forMs);
  // Through transactions, as every write: on SQLite a write beside the writer connection would wait on it.
  const { count } = await db.transaction((tx) => tx.jobLease.updateMany({ where: { name, OR: [{ until: { lt: now } }, { holder }] }, data: { holder, until } }));
  if (count === 1) return true;
  try {
    await db.transaction((tx) => tx.jobLease.create({ data: { name, holder, until } }));
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}

export async function releaseLease(db: Database, name: string, holder: string): Promise<void> {
  await db.transaction((tx) => tx.jobLease.deleteMany({ where: { name, holder } }));
}
