import type { Vault } from './vault.ts';

/**
 * Time zones written before they were encrypted (0.1 databases) are sealed
 * under each subject's data key, a page at a time; after that the pass finds
 * nothing and costs one indexed query. Safe on several replicas at once: a row
 * is only rewritten while it still holds the plain value that was read.
 */
export async function sealLegacyTimezones(vault: Vault): Promise<number> {
  const { db, sealTimezone, dataKeyOf } = vault;
  let sealed = 0;
  for (;;) {
    const page = await db.read.subject.findMany({ where: { timezone: { not: null }, NOT: { timezone: { startsWith: '~' } } }, take: 500 });
    if (page.length === 0) return sealed;
    await db.transaction(async (tx) => {
      for (const subject of page) {
        const { count } = await tx.subject.updateMany({ where: { id: subject.id, timezone: subject.timezone }, data: { timezone: sealTimezone(dataKeyOf(subject), subject.id, subject.timezone) } });
        sealed += count;
      }
    });
  }
}
