import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { execute, placeholders, type SqlStatement } from '../../storage/raw-sql.ts';
import { requireThat } from '../../storage/engine.ts';
import type { ScalarAlongside } from '../../storage/alongside.ts';
import { tagOfDigest } from '../pseudonyms/derive.ts';

// Entries in force: internal and pre-0005 entries by digest, imported registry numbers by tag.
const LISTED_ENTRIES = 'SELECT e.digest AS "digest", s.source AS "source" FROM dnc_entry e JOIN dnc_source s ON s.source = e.source AND s.import_id = e.import_id WHERE e.digest IN';
const LISTED_NUMBERS = 'SELECT CAST(n.tag AS TEXT) AS "tag", s.source AS "source" FROM dnc_source s JOIN dnc_number n ON n.import_no = s.import_no WHERE n.tag IN';
const LOOKUP_CHUNK = 5000;

/** Digests grouped by their tag (the registry keeps numbers by tag). */
function byTagOf(digests: string[]): Map<string, string[]> {
  const byTag = new Map<string, string[]>();
  for (const digest of digests) {
    const tag = tagOfDigest(digest).toString();
    byTag.set(tag, [...(byTag.get(tag) ?? []), digest]);
  }
  return byTag;
}

/**
 * Which of the digests (identifier pseudonyms, any key version) are on a list
 * in force, with the sources that list each: one lookup for a campaign of
 * 100,000 (scrub).
 */
export async function dncMatches(db: Database, digests: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const add = (digest: string, source: string) => out.set(digest, [...(out.get(digest) ?? []), source]);
  for (let i = 0; i < digests.length; i += LOOKUP_CHUNK) {
    const chunk = digests.slice(i, i + LOOKUP_CHUNK);
    const byTag = byTagOf(chunk);
    const [entries, numbers] = await Promise.all([
      db.readRaw<{ digest: string; source: string }>(`${LISTED_ENTRIES} (${placeholders(chunk.length)})`, chunk),
      db.readRaw<{ tag: string; source: string }>(`${LISTED_NUMBERS} (${placeholders(byTag.size)})`, [...byTag.keys()].map(BigInt)),
    ]);
    for (const e of entries) add(e.digest, e.source);
    for (const n of numbers) for (const digest of byTag.get(n.tag) ?? []) add(digest, n.source);
  }
  return out;
}

/**
 * The sources listing one number (its digests under a few key versions), in
 * one statement with a value another module reads alongside (the current key
 * version): at least one row comes back, listed or not.
 */
export async function listingSourcesWith<T>(db: Database, digests: string[], alongside: ScalarAlongside<T>): Promise<{ sources: string[]; alongside: T }> {
  const byTag = byTagOf(digests);
  const rows = await db.readRaw<{ alongside: unknown; source: string | null }>(
    `WITH hits (source) AS (
       SELECT source FROM (${LISTED_ENTRIES} (${placeholders(digests.length)})) AS e
       UNION ALL SELECT source FROM (${LISTED_NUMBERS} (${placeholders(byTag.size)})) AS n)
     SELECT ${alongside.sql} AS "alongside", h.source AS "source" FROM (SELECT 1 AS one) AS o LEFT JOIN hits AS h ON 1 = 1`,
    [...digests, ...[...byTag.keys()].map(BigInt), ...alongside.params],
  );
  return { sources: [...new Set(rows.flatMap((r) => (r.source === null ? [] : [r.source])))].sort(), alongside: alongside.decode(rows[0]?.alongside ?? null) };
}

/** A guard (Database.writeAlone with guards): no list in force holds any of these digests. */
export function unlistedGuard(digests: string[]): SqlStatement {
  const byTag = byTagOf(digests);
  return requireThat(
    `NOT EXISTS (${LISTED_ENTRIES} (${placeholders(digests.length)})) AND NOT EXISTS (${LISTED_NUMBERS} (${placeholders(byTag.size)}))`,
    [...digests, ...[...byTag.keys()].map(BigInt)],
    'the number is on a do-not-call list',
  );
}

export const INTERNAL_IMPORT = 'internal';

/** Internal entries live in one never-replaced "import" of the internal source. */
export async function ensureInternalSource(tx: Tx, at: Date): Promise<void> {
  await tx.dncSource.upsert({ where: { source: INTERNAL_IMPORT }, create: { source: INTERNAL_IMPORT, importId: INTERNAL_IMPORT, entries: 0, importedAt: at }, update: {} });
}

export async function insertDncEntry(tx: Tx, row: { id: string; source: string; importId: string; keyVersion: number; digest: string; note: string | null; createdAt: Date }): Promise<void> {
  await tx.dncEntry.create({ data: row });
}

/** Records the start of an import run; its number keys its rows in dnc_number. */
export async function startImport(tx: Tx, run: { importId: string; source: string; keyVersion: number; startedAt: Date }): Promise<number> {
  return (await tx.dncImport.create({ data: run })).importNo;
}

/**
 * Adds tags to an import; returns how many were new (a tag already in the
 * import is a duplicate line). Sorted tags append to the import's key range,
 * and the whole list travels as one JSON parameter, unpacked by the database.
 */
export async function insertDncNumbers(tx: Tx, importNo: number, tags: BigInt64Array): Promise<number> {
  const json = `[${tags.join(',')}]`;
  const { adapter } = tx.unit;
  // WHERE true: SQLite reads an ON CONFLICT after a bare FROM as a join's.
  return execute(tx, `INSERT INTO dnc_number (import_no, tag) SELECT ?, ${adapter.asBigint('value')} FROM ${adapter.jsonElements()} WHERE true ON CONFLICT DO NOTHING`, [importNo, json]);
}

/** Puts an import in force for its source; returns the import it replaced. */
export async function activateImport(tx: Tx, run: { source: string; importId: string; importNo: number; entries: number; at: Date }): Promise<string | undefined> {
  const { source, importId, importNo, entries, at } = run;
  const previous = await tx.dncSource.findUnique({ where: { source } });
  await tx.dncSource.upsert({ where: { source }, create: { source, importId, importNo, entries, importedAt: at }, update: { importId, importNo, entries, importedAt: at } });
  return previous?.importId;
}

/** Runs of a source that are not in force: replaced, or left by an import that died. */
export async function inactiveImports(db: DbClient, source: string, keepImportNo: number): Promise<number[]> {
  return (await db.dncImport.findMany({ where: { source, importNo: { not: keepImportNo } }, select: { importNo: true } })).map((r) => r.importNo);
}

/** Deletes the lowest `limit` numbers of an import (all that are left when fewer remain); returns how many went. */
export async function deleteImportNumbers(tx: Tx, importNo: number, limit: number): Promise<number> {
  // A key range, not an IN list: five times faster on ten million rows.
  return execute(tx, 'DELETE FROM dnc_number WHERE import_no = ? AND tag <= COALESCE((SELECT tag FROM dnc_number WHERE import_no = ? ORDER BY tag LIMIT 1 OFFSET ?), 9223372036854775807)', [
    importNo,
    importNo,
    limit - 1,
  ]);
}

/** Forgets an emptied run, and the pre-0005 entries of the source's replaced imports. */
export async function forgetImport(tx: Tx, importNo: number, source: string, keepImportId: string): Promise<void> {
  await tx.dncImport.delete({ where: { importNo } });
  await execute(tx, 'DELETE FROM dnc_entry WHERE source = ? AND import_id <> ?', [source, keepImportId]);
}

export async function deleteDncEntry(tx: Tx, id: string, source: string): Promise<boolean> {
  const { count } = await tx.dncEntry.deleteMany({ where: { id, source } });
  return count === 1;
}

export async function findInternalEntry(tx: Tx, digest: string): Promise<string | undefined> {
  return (await tx.dncEntry.findFirst({ where: { source: INTERNAL_IMPORT, importId: INTERNAL_IMPORT, digest }, select: { id: true } }))?.id;
}

/** Internal do-not-call entries for a number (any key version's digest): what an officer may remove. */
export async function internalEntryIds(db: Database, digests: string[]): Promise<string[]> {
  if (digests.length === 0) return [];
  const rows = await db.readRaw<{ id: string }>(`SELECT id FROM dnc_entry WHERE source = ? AND import_id = ? AND digest IN (${placeholders(digests.length)}) ORDER BY created_at`, [
    INTERNAL_IMPORT,
    INTERNAL_IMPORT,
    ...digests,
  ]);
  return rows.map((r) => r.id);
}
