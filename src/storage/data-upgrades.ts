import type { Database } from './database.ts';
import { isUniqueViolation } from './database.ts';

/**
 * Runs a one-off data upgrade until it has finished once on this database,
 * then never again: later starts read one row instead of scanning the tables
 * the upgrade went through. `work` must be safe to run on several replicas at
 * once (each upgrade here only rewrites rows still in their old form).
 */
export async function upgradeOnce(db: Database, name: string, work: () => Promise<number>): Promise<number> {
  if (await db.read.dataUpgrade.findUnique({ where: { name } })) return 0;
  const done = await work();
  try {
    await db.transaction((tx) => tx.dataUpgrade.create({ data: { name, doneAt: new Date() } }));
  } catch (error) {
    // Another replica finished the same upgrade first.
    if (!isUniqueViolation(error)) throw error;
  }
  return done;
}
