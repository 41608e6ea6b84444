import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { execute, insertRows, query } from '../../storage/raw-sql.ts';

export interface ReservationRow {
  ticket: string;
  subjectId: string;
  appId: string;
  channel: string;
  purpose: string;
  topic: string | null;
  status: string;
  reservedAt: Date;
  expiresAt: Date;
  revealedAt: Date | null;
  outcomeAt: Date | null;
}

/**
 * Every authorization of one subject runs under this lock, so counting the
 * slots in use and reserving one are a single atomic step: PostgreSQL takes a
 * transaction-scoped advisory lock per subject (across all replicas); SQLite
 * serialises every writer already.
 */
export async function lockSubjectContacts(tx: Tx, engine: Database['kind'], subjectId: string): Promise<void> {
  if (engine === 'postgresql') await execute(tx, 'SELECT pg_advisory_xact_lock(hashtextextended(?, 11))', [`contact:${subjectId}`]);
}

/** Slots held in a window: every reservation not released, on this channel, since `since`. */
export async function reservationsSince(tx: Tx, subjectId: string, channel: string, since: Date): Promise<Array<{ purpose: string; reservedAt: Date }>> {
  const rows = await query<{ purpose: string; reservedAt: string | Date }>(
    tx,
    `SELECT purpose, reserved_at AS "reservedAt" FROM contact_reservation WHERE subject_id = ? AND channel = ? AND reserved_at > ? AND status <> 'released' ORDER BY reserved_at`,
    [subjectId, channel, since],
  );
  return rows.map((r) => ({ purpose: r.purpose, reservedAt: new Date(r.reservedAt) }));
}

export async function insertReservation(tx: Tx, r: ReservationRow): Promise<void> {
  await insertRows(tx, 'contact_reservation', ['ticket', 'subject_id', 'app_id', 'channel', 'purpose', 'topic', 'status', 'reserved_at', 'expires_at', 'revealed_at', 'outcome_at'], [
    [r.ticket, r.subjectId, r.appId, r.channel, r.purpose, r.topic, r.status, r.reservedAt, r.expiresAt, r.revealedAt, r.outcomeAt],
  ]);
}

export async function findReservation(db: DbClient | Tx, ticket: string): Promise<ReservationRow | undefined> {
  return (await db.contactReservation.findUnique({ where: { ticket } })) ?? undefined;
}

/** Marks the ticket revealed if it was not yet; false when another request revealed it first. */
export async function markRevealed(tx: Tx, ticket: string, at: Date): Promise<boolean> {
  const { count } = await tx.contactReservation.updateMany({ where: { ticket, revealedAt: null }, data: { revealedAt: at } });
  return count === 1;
}

export async function recordOutcome(tx: Tx, ticket: string, status: string, at: Date): Promise<boolean> {
  const { count } = await tx.contactReservation.updateMany({ where: { ticket, status: 'reserved' }, data: { status, outcomeAt: at } });
  return count === 1;
}

export async function findIdempotent(db: DbClient | Tx, appId: string, key: string): Promise<string | undefined> {
  return (await db.contactIdempotency.findUnique({ where: { appId_key: { appId, key } } }))?.response;
}

export async function saveIdempotent(tx: Tx, appId: string, key: string, response: string, at: Date): Promise<void> {
  await tx.contactIdempotency.create({ data: { appId, key, response, createdAt: at } });
}

/** Entries of the imports in force that match any of the digests. */
export async function dncMatches(db: Database, digests: string[]): Promise<Array<{ source: string }>> {
  if (digests.length === 0) return [];
  return db.readRaw<{ source: string }>(
    `SELECT e.source AS "source" FROM dnc_entry e JOIN dnc_source s ON s.source = e.source AND s.import_id = e.import_id WHERE e.digest IN (${digests.map(() => '?').join(', ')})`,
    digests,
  );
}

/** Which of many digests are on a list in force (campaign scrubbing), with their sources. */
export async function dncMatchesMany(db: Database, digests: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < digests.length; i += 5000) {
    const chunk = digests.slice(i, i + 5000);
    const rows = await db.readRaw<{ digest: string; source: string }>(
      `SELECT e.digest AS "digest", e.source AS "source" FROM dnc_entry e JOIN dnc_source s ON s.source = e.source AND s.import_id = e.import_id WHERE e.digest IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const r of rows) out.set(r.digest, [...(out.get(r.digest) ?? []), r.source]);
  }
  return out;
}

/** Slots held on a channel since `since`, for many subjects: subject → purposes of the held slots, oldest first. */
export async function reservationsSinceMany(db: Database, subjectIds: string[], channel: string, since: Date): Promise<Map<string, Array<{ purpose: string; reservedAt: Date }>>> {
  const out = new Map<string, Array<{ purpose: string; reservedAt: Date }>>();
  for (let i = 0; i < subjectIds.length; i += 5000) {
    const chunk = subjectIds.slice(i, i + 5000);
    const rows = await db.readRaw<{ subjectId: string; purpose: string; reservedAt: string | Date }>(
      `SELECT subject_id AS "subjectId", purpose, reserved_at AS "reservedAt" FROM contact_reservation
        WHERE channel = ? AND reserved_at > ? AND status <> 'released' AND subject_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY reserved_at`,
      [channel, since, ...chunk],
    );
    for (const r of rows) {
      if (!out.has(r.subjectId)) out.set(r.subjectId, []);
      out.get(r.subjectId)!.push({ purpose: r.purpose, reservedAt: new Date(r.reservedAt) });
    }
  }
  return out;
}

export const INTERNAL_IMPORT = 'internal';

/** Internal entries live in one never-replaced "import" of the internal source. */
export async function ensureInternalSource(tx: Tx, at: Date): Promise<void> {
  await tx.dncSource.upsert({ where: { source: INTERNAL_IMPORT }, create: { source: INTERNAL_IMPORT, importId: INTERNAL_IMPORT, entries: 0, importedAt: at }, update: {} });
}

export async function insertDncEntry(tx: Tx, row: { id: string; source: string; importId: string; keyVersion: number; digest: string; note: string | null; createdAt: Date }): Promise<void> {
  await tx.dncEntry.create({ data: row });
}

/** Returns how many were new; a number already in this import is skipped (a duplicate line). */
export async function insertDncEntries(tx: Tx, rows: Array<[id: string, source: string, importId: string, keyVersion: number, digest: string, createdAt: Date]>): Promise<number> {
  return insertRows(tx, 'dnc_entry', ['id', 'source', 'import_id', 'key_version', 'digest', 'created_at'], rows, { skipExisting: true });
}

/** Puts an import in force for its source; returns the import it replaced. */
export async function activateImport(tx: Tx, source: string, importId: string, entries: number, at: Date): Promise<string | undefined> {
  const previous = await tx.dncSource.findUnique({ where: { source } });
  await tx.dncSource.upsert({ where: { source }, create: { source, importId, entries, importedAt: at }, update: { importId, entries, importedAt: at } });
  return previous?.importId;
}

/** Rows of imports that are not in force (replaced, or left by an import that died), in batches. */
export async function deleteInactiveEntries(tx: Tx, source: string, keepImportId: string): Promise<number> {
  return execute(tx, 'DELETE FROM dnc_entry WHERE source = ? AND import_id <> ?', [source, keepImportId]);
}

export async function deleteDncEntry(tx: Tx, id: string, source: string): Promise<boolean> {
  const { count } = await tx.dncEntry.deleteMany({ where: { id, source } });
  return count === 1;
}
