import type { DbClient, Tx } from '../../storage/database.ts';

export async function currentKeyVersion(db: DbClient | Tx): Promise<number> {
  const row = await db.keyVersion.findFirst({ orderBy: { version: 'desc' } });
  return row?.version ?? 1;
}

export async function addKeyVersion(tx: Tx, version: number, at: Date): Promise<void> {
  await tx.keyVersion.create({ data: { version, createdAt: at } });
}

export async function listKeyVersions(db: DbClient): Promise<Array<{ version: number; createdAt: Date }>> {
  return db.keyVersion.findMany({ orderBy: { version: 'asc' } });
}
