import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { lockKeys } from '../../storage/locks.ts';
import { execute, insertRows, placeholders, query, type ColumnAlongside } from '../../storage/raw-sql.ts';
import type { ConsentState } from './schema.ts';
import type { LedgerEntry } from './state.ts';
import { flag, instant, integer, nullableInstant, nullableInteger, type SqlFlag, type SqlInstant, type SqlInteger } from '../../storage/sql-values.ts';

const list = (text: string | null) => (text === null ? null : (JSON.parse(text) as string[]));

/**
 * Ledger entries are ordered per subject. PostgreSQL: a transaction-scoped
 * advisory lock on the subject serialises concurrent grants and withdrawals of
 * one subject across replicas; SQLite serialises all writers already.
 */
export async function lockSubjectLedger(tx: Tx, subjectIds: string[]): Promise<void> {
  await lockKeys(tx, 'consent', subjectIds);
}

export async function readLedger(db: DbClient | Tx, subjectId: string): Promise<LedgerEntry[]> {
  const rows = await db.consentEvent.findMany({ where: { subjectId }, orderBy: { seq: 'asc' } });
  return rows.map(toEntry);
}

type LedgerRow = {
  seq: SqlInteger;
  purpose: string;
  kind: string;
  channels: string | null;
  topics: string | null;
  recipients: string | null;
  source: string;
  noticeVersion: string | null;
  expiresAt: SqlInstant | null;
  gpc: SqlFlag;
  receiptId: string | null;
  at: SqlInstant;
};

function toEntry(r: LedgerRow): LedgerEntry {
  return {
    seq: integer(r.seq),
    purpose: r.purpose,
    kind: r.kind as LedgerEntry['kind'],
    channels: list(r.channels),
    topics: list(r.topics),
    recipients: list(r.recipients),
    source: r.source,
    noticeVersion: r.noticeVersion,
    expiresAt: nullableInstant(r.expiresAt),
    gpc: flag(r.gpc),
    receiptId: r.receiptId,
    at: instant(r.at),
  };
}

// Plain SQL on the write path (run natively on SQLite): the Prisma client costs more than the statements.
export async function appendLedger(tx: Tx, subjectId: string, entry: Omit<LedgerEntry, 'seq'> & { id: string; actorId: string | null; requestId: string | null; receipt?: string }): Promise<number> {
  const [last] = await query<{ seq: SqlInteger | null }>(tx, 'SELECT MAX(seq) AS seq FROM consent_event WHERE subject_id = ?', [subjectId]);
  const seq = (nullableInteger(last?.seq) ?? 0) + 1;
  const json = (list: string[] | null) => (list === null ? null : JSON.stringify(list));
  await insertRows(
    tx,
    'consent_event',
    ['id', 'subject_id', 'seq', 'purpose', 'kind', 'channels', 'topics', 'recipients', 'source', 'notice_version', 'expires_at', 'gpc', 'receipt_id', 'receipt', 'actor_id', 'request_id', 'at'],
    [
      [
        entry.id,
        subjectId,
        seq,
        entry.purpose,
        entry.kind,
        json(entry.channels),
        json(entry.topics),
        json(entry.recipients),
        entry.source,
        entry.noticeVersion,
        entry.expiresAt,
        entry.gpc,
        entry.receiptId,
        entry.receipt ?? null,
        entry.actorId,
        entry.requestId,
        entry.at,
      ],
    ],
  );
  return seq;
}

/** The signed receipts of a subject's grants, by receipt id (access exports). */
export async function receiptsOf(db: DbClient, subjectId: string): Promise<Map<string, string>> {
  const rows = await db.consentEvent.findMany({ where: { subjectId, receipt: { not: null } }, select: { receiptId: true, receipt: true } });
  return new Map(rows.map((r) => [r.receiptId!, r.receipt!]));
}

/** Erasure: the subject's whole ledger goes with the subject. */
export async function deleteLedger(tx: Tx, subjectId: string): Promise<void> {
  await tx.consentEvent.deleteMany({ where: { subjectId } });
  await tx.consentState.deleteMany({ where: { subjectId } });
}

/** The last ledger entry under each purpose, per subject (retention). */
export async function lastEntryPerPurpose(db: DbClient, subjectIds: string[]): Promise<Array<{ subjectId: string; purpose: string; at: Date }>> {
  if (subjectIds.length === 0) return [];
  const rows = await db.consentEvent.groupBy({ by: ['subjectId', 'purpose'], where: { subjectId: { in: subjectIds } }, _max: { at: true } });
  return rows.map((r) => ({ subjectId: r.subjectId, purpose: r.purpose, at: r._max.at! }));
}

const parseState = (text: string) => JSON.parse(text) as ConsentState;

/** The kept states of some purposes of one subject (inside a write, under the ledger lock). */
export async function readStates(tx: Tx, subjectId: string, purposes: string[]): Promise<Map<string, ConsentState>> {
  if (purposes.length === 0) return new Map();
  const rows = await query<{ purpose: string; state: string }>(tx, `SELECT purpose, state FROM consent_state WHERE subject_id = ? AND purpose IN (${placeholders(purposes.length)})`, [
    subjectId,
    ...purposes,
  ]);
  return new Map(rows.map((r) => [r.purpose, parseState(r.state)]));
}

/** The hot path of every consent check: one row. */
export async function readState(db: Database, subjectId: string, purpose: string): Promise<ConsentState | undefined> {
  const [row] = await db.readRaw<{ state: string }>('SELECT state FROM consent_state WHERE subject_id = ? AND purpose = ?', [subjectId, purpose]);
  return row ? parseState(row.state) : undefined;
}

/** The kept state of a purpose as a column of another module's read of the subject (undefined: none kept). */
export function stateColumn<T>(purpose: string, judge: (state: ConsentState | undefined) => T): ColumnAlongside<T> {
  return {
    select: (subjectId) => `(SELECT state FROM consent_state WHERE subject_id = ${subjectId} AND purpose = ?)`,
    params: [purpose],
    decode: (raw) => judge(typeof raw === 'string' ? parseState(raw) : undefined),
  };
}

/** One purpose's kept state for many subjects (campaign scrubbing), in chunks. */
export async function readStatesMany(db: Database, subjectIds: string[], purpose: string): Promise<Map<string, ConsentState>> {
  const out = new Map<string, ConsentState>();
  for (let i = 0; i < subjectIds.length; i += 5000) {
    const chunk = subjectIds.slice(i, i + 5000);
    const rows = await db.readRaw<{ subjectId: string; state: string }>(
      `SELECT subject_id AS "subjectId", state FROM consent_state WHERE purpose = ? AND subject_id IN (${placeholders(chunk.length)})`,
      [purpose, ...chunk],
    );
    for (const r of rows) out.set(r.subjectId, parseState(r.state));
  }
  return out;
}

export async function writeState(tx: Tx, subjectId: string, state: ConsentState): Promise<void> {
  await execute(tx, 'INSERT INTO consent_state (subject_id, purpose, state) VALUES (?, ?, ?) ON CONFLICT (subject_id, purpose) DO UPDATE SET state = excluded.state', [
    subjectId,
    state.purpose,
    JSON.stringify(state),
  ]);
}

/** Ledgers (subject, purpose) that have entries but no kept state: written before 0011. */
export async function ledgersWithoutState(db: Database, limit: number): Promise<Array<{ subjectId: string; purpose: string }>> {
  return db.readRaw<{ subjectId: string; purpose: string }>(
    `SELECT DISTINCT e.subject_id AS "subjectId", e.purpose AS purpose FROM consent_event e
      WHERE NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.subject_id = e.subject_id AND s.purpose = e.purpose) LIMIT ?`,
    [limit],
  );
}

export async function readPurposeLedgerIn(tx: Tx, subjectId: string, purpose: string): Promise<LedgerEntry[]> {
  const rows = await tx.consentEvent.findMany({ where: { subjectId, purpose }, orderBy: { seq: 'asc' } });
  return rows.map(toEntry);
}
