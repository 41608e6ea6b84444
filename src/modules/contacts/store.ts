import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { execute } from '../../storage/raw-sql.ts';

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
  return tx.contactReservation.findMany({
    where: { subjectId, channel, reservedAt: { gt: since }, status: { not: 'released' } },
    select: { purpose: true, reservedAt: true },
    orderBy: { reservedAt: 'asc' },
  });
}

export async function insertReservation(tx: Tx, row: ReservationRow): Promise<void> {
  await tx.contactReservation.create({ data: row });
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

export async function dncMatches(db: DbClient | Tx, digests: string[]): Promise<Array<{ id: string; source: string }>> {
  if (digests.length === 0) return [];
  return db.dncEntry.findMany({ where: { digest: { in: digests } }, select: { id: true, source: true } });
}

export async function insertDncEntry(tx: Tx, row: { id: string; source: string; keyVersion: number; digest: string; note: string | null; createdAt: Date }): Promise<void> {
  await tx.dncEntry.create({ data: row });
}

export async function deleteDncEntry(tx: Tx, id: string, source: string): Promise<boolean> {
  const { count } = await tx.dncEntry.deleteMany({ where: { id, source } });
  return count === 1;
}
