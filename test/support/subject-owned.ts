import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type TestGateway } from './gateway.ts';

export const schemaText = () => fs.readFileSync(path.join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8');

/**
 * The tables whose rows belong to a person, read from prisma/schema.prisma:
 * every model with a subjectId column. A new one is covered by the erasure
 * tests without anyone listing it.
 */
export function subjectOwnedTables(): string[] {
  const tables: string[] = [];
  for (const [, body] of schemaText().matchAll(/^model \w+ \{\n([\s\S]*?)^\}/gm)) {
    if (/^\s+subjectId\s/m.test(body!)) tables.push(/@@map\("(\w+)"\)/.exec(body!)![1]!);
  }
  return tables.sort();
}

/** How many rows each table holds for these subjects (all subjects when none are named). */
export async function rowsOf(gateway: TestGateway, tables: string[], ...subjectIds: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of tables) {
    const where = subjectIds.length > 0 ? ` WHERE subject_id IN (${subjectIds.map(() => '?').join(', ')})` : '';
    const [row] = await gateway.runtime.db.readRaw<{ n: number | bigint | string }>(`SELECT COUNT(*) AS n FROM ${table}${where}`, subjectIds);
    out[table] = Number(row!.n);
  }
  return out;
}

/** A bare subject row (no values), for storage tests that write rows a subject owns without going through the vault. */
export async function bareSubject(gateway: TestGateway): Promise<string> {
  const id = `sub_${randomUUID()}`;
  const now = new Date();
  await gateway.runtime.db.transaction((tx) => tx.subject.create({ data: { id, timezone: null, keyVersion: 1, wrappedKey: 'not-a-key', createdAt: now, updatedAt: now } }));
  return id;
}
