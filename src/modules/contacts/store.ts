import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { lockKeys } from '../../storage/locks.ts';
import type { ColumnAlongside } from '../../storage/alongside.ts';
import { insertStatements, placeholders, query, type SqlStatement, type TableRows } from '../../storage/raw-sql.ts';
import { orderedDigestOf, type EngineAdapter } from '../../storage/engine.ts';
import { instant, type SqlInstant } from '../../storage/sql-values.ts';
import { unitStateKey } from '../../storage/unit-of-work.ts';

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
 * Every capped decision of one subject counts its slots under this lock (the
 * grouped transaction takes it, the guarded write's recheck takes it as it
 * commits), so counting the slots in use and reserving one are a single
 * atomic step; an erasure takes it too. PostgreSQL: a transaction-scoped
 * advisory lock per subject (across all replicas); SQLite serialises every
 * writer already. An uncapped contact counts nothing and takes no lock.
 */
export async function lockSubjectContacts(tx: Tx, subjectIds: string[]): Promise<void> {
  await lockKeys(tx, 'contact', subjectIds);
}

/**
 * A slot is held by a reservation that is not released, unless its ticket
 * expired with no reveal and no outcome: nobody can have been contacted
 * through Custos with it, so it gives the slot back. A revealed ticket keeps
 * its slot until an outcome says not-sent (the number may have been dialled).
 */
const HOLDS_SLOT = `status <> 'released' AND NOT (status = 'reserved' AND revealed_at IS NULL AND expires_at <= ?)`;

const RESERVATION_COLUMNS = ['ticket', 'subject_id', 'app_id', 'channel', 'purpose', 'topic', 'status', 'reserved_at', 'expires_at', 'revealed_at', 'outcome_at'];

/** The HOLDS_SLOT rule for a reservation still in memory. */
const holdsSlot = (r: Pick<ReservationRow, 'status' | 'revealedAt' | 'expiresAt'>, now: Date) =>
  r.status !== 'released' && !(r.status === 'reserved' && r.revealedAt === null && r.expiresAt.getTime() <= now.getTime());

/** Held slots as the rules take them: purpose and time, oldest first. */
const oldestFirst = (rows: Array<Pick<ReservationRow, 'purpose' | 'reservedAt'>>) =>
  rows.map((r) => ({ purpose: r.purpose, reservedAt: r.reservedAt })).sort((a, b) => a.reservedAt.getTime() - b.reservedAt.getTime());

type SlotRow = Pick<ReservationRow, 'subjectId' | 'channel' | 'purpose' | 'status' | 'reservedAt' | 'expiresAt' | 'revealedAt'>;

/** Reservations made in a unit of work, written as one multi-row INSERT as its last step (a group shares one statement). */
const MADE = unitStateKey('contact reservations', (unit): ReservationRow[] => {
  const rows: ReservationRow[] = [];
  unit.lastly(() => insertStatements(reservationRows(rows)));
  return rows;
});

/** Slots read for a group's subjects under their locks (loadHeldSlots): reservations since `from`, not released. */
const LOADED = unitStateKey('held slots', (): { group?: { from: Date; rows: Map<string, SlotRow[]> } } => ({}));

/**
 * Reads the reservations of all these subjects since `from` that may hold a
 * slot, in one statement (a group holds at most a few hundred subjects; larger
 * lists go in parts), under the subjects' locks (a group of
 * authorizations, right after it locks them); reservationsSince in the same
 * transaction then counts from them. A reservation another transaction
 * releases or lets lapse meanwhile still counts here: a stale row can only
 * refuse a contact, never allow one past a cap.
 */
export async function loadHeldSlots(tx: Tx, subjectIds: string[], from: Date): Promise<void> {
  const rows = new Map<string, SlotRow[]>(subjectIds.map((id) => [id, []]));
  for (let i = 0; i < subjectIds.length; i += 5000) {
    const chunk = subjectIds.slice(i, i + 5000);
    const found = await query<{ subjectId: string; channel: string; purpose: string; status: string; reservedAt: SqlInstant; expiresAt: SqlInstant; revealedAt: SqlInstant | null }>(
      tx,
      `SELECT subject_id AS "subjectId", channel, purpose, status, reserved_at AS "reservedAt", expires_at AS "expiresAt", revealed_at AS "revealedAt"
         FROM contact_reservation WHERE subject_id IN (${placeholders(chunk.length)}) AND reserved_at > ? AND status <> 'released'`,
      [...chunk, from],
    );
    for (const r of found) {
      rows.get(r.subjectId)!.push({ ...r, reservedAt: instant(r.reservedAt), expiresAt: instant(r.expiresAt), revealedAt: r.revealedAt === null ? null : instant(r.revealedAt) });
    }
  }
  tx.unit.state(LOADED).group = { from, rows };
}

/**
 * The slots a capped decision counts, read beside the subject (in the
 * statement that reads it): the subject's reservations on the channel since
 * the window start that are not released, and `seen`, a digest of them with
 * what can still change about them (status, reveal), which the claim
 * compares as the slot is written.
 */
export interface SlotsRead {
  seen: string;
  /** The slots held as of `now`, oldest first (the HOLDS_SLOT rule, applied here). */
  held(now: Date): Array<{ purpose: string; reservedAt: Date }>;
}

/** The reservations a capped decision counts: not released, on the channel, since the window start, except the write's own. */
const COUNTED = (adapter: EngineAdapter, key: string) => `FROM contact_reservation WHERE subject_id = ${key} AND channel = ? AND reserved_at > ${adapter.asTimestamp('?')} AND status <> 'released'`;

/** The text each counted reservation adds to the digest of what was counted: what can still change about it. */
const SEEN_TEXT = `ticket || '/' || status || '/' || (CASE WHEN revealed_at IS NULL THEN 'true' ELSE 'false' END)`;

/**
 * The slots a capped decision counts, as one column of the subject's read:
 * the counted reservations as rows; `seen`, their digest, is computed here
 * from those rows (orderedDigestOf) the way the claim's recheck computes it
 * in SQL, so the read itself aggregates no digest.
 */
export function slotsColumn(adapter: EngineAdapter, channel: string, since: Date): ColumnAlongside<SlotsRead> {
  return {
    select: (key) => `(SELECT ${adapter.jsonRowsAgg(['ticket', 'purpose', 'status', 'reserved_at', 'expires_at', 'revealed_at'])} ${COUNTED(adapter, key)})`,
    params: [channel, since],
    decode(raw) {
      const read = (typeof raw === 'string' ? JSON.parse(raw) : (raw ?? [])) as Array<[string, string, string, string, string, string | null]>;
      // PostgreSQL's JSON gives a timestamp without its zone (UTC here); SQLite's text keeps its +00:00.
      const utc = (text: string) => new Date(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
      const rows = read.map(([ticket, purpose, status, reservedAt, expiresAt, revealedAt]) => ({
        ticket,
        purpose,
        status,
        reservedAt: utc(reservedAt),
        expiresAt: utc(expiresAt),
        revealedAt: revealedAt === null ? null : utc(revealedAt),
      }));
      return {
        seen: orderedDigestOf(rows.map((r) => ({ text: `${r.ticket}/${r.status}/${r.revealedAt === null}`, orderBy: r.ticket }))),
        held: (now) => oldestFirst(rows.filter((r) => holdsSlot(r, now))),
      };
    },
  };
}

/**
 * The guard of a slot written from a SlotsRead: under the subject's contact
 * lock (the lock every capped decision takes), the slots counted, less the
 * slot being written (`ticket`), must still be those read, or nothing is
 * written and the request is decided again under the lock.
 */
export function claimSlot(adapter: EngineAdapter, subjectId: string, channel: string, since: Date, seen: string, ticket: string): SqlStatement {
  const check = { sql: `SELECT ${adapter.orderedDigest(SEEN_TEXT, 'ticket')} ${COUNTED(adapter, '?')} AND ticket <> ?`, params: [subjectId, channel, since, ticket] };
  return adapter.recheckUnderLock('contact', subjectId, check, seen, 'contact slots changed since they were counted');
}

/** Slots held in a window on this channel since `since`, as of `now`, including those reserved earlier in this transaction. */
export async function reservationsSince(tx: Tx, subjectId: string, channel: string, since: Date, now: Date): Promise<Array<{ purpose: string; reservedAt: Date }>> {
  // An empty window (no cap applies to this contact): nothing to count, so no statement.
  if (since.getTime() >= now.getTime()) return [];
  const inWindow = (r: SlotRow) => r.subjectId === subjectId && r.channel === channel && r.reservedAt.getTime() > since.getTime() && holdsSlot(r, now);
  const group = tx.unit.state(LOADED).group;
  let stored: Array<{ purpose: string; reservedAt: Date }>;
  if (group && group.from.getTime() <= since.getTime() && group.rows.has(subjectId)) stored = group.rows.get(subjectId)!.filter(inWindow);
  else {
    const rows = await query<{ purpose: string; reservedAt: SqlInstant }>(
      tx,
      `SELECT purpose, reserved_at AS "reservedAt" FROM contact_reservation WHERE subject_id = ? AND channel = ? AND reserved_at > ? AND ${HOLDS_SLOT} ORDER BY reserved_at`,
      [subjectId, channel, since, now],
    );
    stored = rows.map((r) => ({ purpose: r.purpose, reservedAt: instant(r.reservedAt) }));
  }
  const mine = tx.unit.state(MADE).filter(inWindow);
  return oldestFirst([...stored, ...mine]);
}

/**
 * Reserves a slot in this transaction. The row is written as the
 * transaction's last step (with every other reservation of its group, and on
 * PostgreSQL in the same statement as their audit events); until then
 * reservationsSince in the same transaction counts it.
 */
export function reserveSlot(tx: Tx, r: ReservationRow): void {
  tx.unit.state(MADE).push(r);
}

/** Reservations as rows to write, for a write that needs no lock (no cap counts slots): the audit trail writes them with their events. */
export function reservationRows(rows: ReservationRow[]): TableRows {
  return {
    table: 'contact_reservation',
    columns: RESERVATION_COLUMNS,
    rows: rows.map((x) => [x.ticket, x.subjectId, x.appId, x.channel, x.purpose, x.topic, x.status, x.reservedAt, x.expiresAt, x.revealedAt, x.outcomeAt]),
  };
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

export async function findIdempotent(db: DbClient | Tx, appId: string, key: string): Promise<{ requestHash: string; response: string } | undefined> {
  return (await db.contactIdempotency.findUnique({ where: { appId_key: { appId, key } }, select: { requestHash: true, response: true } })) ?? undefined;
}

export async function saveIdempotent(tx: Tx, row: { appId: string; key: string; requestHash: string; response: string; at: Date }): Promise<void> {
  await tx.contactIdempotency.create({ data: { appId: row.appId, key: row.key, requestHash: row.requestHash, response: row.response, createdAt: row.at } });
}

/** Slots held on a channel since `since`, for many subjects: subject → purposes of the held slots, oldest first. */
export async function reservationsSinceMany(db: Database, subjectIds: string[], channel: string, since: Date, now: Date): Promise<Map<string, Array<{ purpose: string; reservedAt: Date }>>> {
  const out = new Map<string, Array<{ purpose: string; reservedAt: Date }>>();
  for (let i = 0; i < subjectIds.length; i += 5000) {
    const chunk = subjectIds.slice(i, i + 5000);
    const rows = await db.readRaw<{ subjectId: string; purpose: string; reservedAt: SqlInstant }>(
      `SELECT subject_id AS "subjectId", purpose, reserved_at AS "reservedAt" FROM contact_reservation
        WHERE channel = ? AND reserved_at > ? AND ${HOLDS_SLOT} AND subject_id IN (${placeholders(chunk.length)}) ORDER BY reserved_at`,
      [channel, since, now, ...chunk],
    );
    for (const r of rows) {
      if (!out.has(r.subjectId)) out.set(r.subjectId, []);
      out.get(r.subjectId)!.push({ purpose: r.purpose, reservedAt: instant(r.reservedAt) });
    }
  }
  return out;
}

/** The contacts made with a subject (access exports), oldest first. */
export async function reservationsOf(db: DbClient, subjectId: string): Promise<ReservationRow[]> {
  return db.contactReservation.findMany({ where: { subjectId }, orderBy: { reservedAt: 'asc' } });
}

/** The last contact reserved under each purpose, per subject (retention). */
export async function lastReservationPerPurpose(db: DbClient, subjectIds: string[]): Promise<Array<{ subjectId: string; purpose: string; at: Date }>> {
  if (subjectIds.length === 0) return [];
  const rows = await db.contactReservation.groupBy({ by: ['subjectId', 'purpose'], where: { subjectId: { in: subjectIds } }, _max: { reservedAt: true } });
  return rows.map((r) => ({ subjectId: r.subjectId, purpose: r.purpose, at: r._max.reservedAt! }));
}
