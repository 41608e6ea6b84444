import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { lockKeys } from '../../storage/locks.ts';
import { execute, insertStatements, placeholders, query } from '../../storage/raw-sql.ts';
import type { ColumnAlongside } from '../../storage/alongside.ts';
import type { ConsentState } from './schema.ts';
import type { LedgerEntry } from './state.ts';
import { unitStateKey } from '../../storage/unit-of-work.ts';
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

/**
 * The order the ledger is folded and shown in: when each event happened, then
 * the order it was entered. Live entries are entered at their own time, so
 * this is their entry order; imported history keeps its original times and may
 * be older than entries made live before the import (see importedHistory).
 */
const LEDGER_ORDER = [{ at: 'asc' as const }, { seq: 'asc' as const }];

export async function readLedger(db: DbClient | Tx, subjectId: string): Promise<LedgerEntry[]> {
  const rows = await db.consentEvent.findMany({ where: { subjectId }, orderBy: LEDGER_ORDER });
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

type NewEntry = Omit<LedgerEntry, 'seq'> & { id: string; actorId: string | null; requestId: string | null; receipt?: string; evidence?: string | null; importId?: string | null };

const ENTRY_COLUMNS = [
  'id',
  'subject_id',
  'seq',
  'purpose',
  'kind',
  'channels',
  'topics',
  'recipients',
  'source',
  'notice_version',
  'expires_at',
  'gpc',
  'receipt_id',
  'receipt',
  'actor_id',
  'request_id',
  'at',
  'evidence',
  'import_id',
];
const STATE_COLUMNS = ['subject_id', 'purpose', 'state'];

/**
 * What a write transaction knows of the ledgers it appends to: per subject the
 * last entry number and the kept states, read once under the ledger lock and
 * then moved on in memory, so later writes of a group see earlier ones; the
 * entries and states are written as the transaction's last step (on
 * PostgreSQL in one statement with its audit events).
 */
interface LedgerWrites {
  subjects: Map<string, { lastSeq: number; kept: Map<string, ConsentState> }>;
  entries: unknown[][];
  /** The kept states the transaction moved on: subject and purpose. */
  moved: Map<string, { subjectId: string; purpose: string }>;
}
const LEDGER_WRITES = unitStateKey('consent ledger', (unit): LedgerWrites => {
  const writes: LedgerWrites = { subjects: new Map(), entries: [], moved: new Map() };
  unit.lastly(() => [
    ...insertStatements({ table: 'consent_event', columns: ENTRY_COLUMNS, rows: writes.entries }),
    ...insertStatements(
      {
        table: 'consent_state',
        columns: STATE_COLUMNS,
        rows: [...writes.moved.values()].map(({ subjectId, purpose }) => [subjectId, purpose, JSON.stringify(writes.subjects.get(subjectId)!.kept.get(purpose))]),
      },
      { replaceOn: ['subject_id', 'purpose'] },
    ),
  ]);
  return writes;
});

const ledgerWritesOf = (tx: Tx): LedgerWrites => tx.unit.state(LEDGER_WRITES);

/**
 * The kept states of some purposes of one subject, inside a write under the
 * ledger lock: one statement (with the ledger's last number) the first time a
 * transaction asks, then from what the transaction has moved on (`created`:
 * the subject was made in this transaction, so none is read). The map is the
 * transaction's own; appendLedger moves it on.
 */
export async function ledgerStates(tx: Tx, subjectId: string, purposes: string[], options: { created?: boolean } = {}): Promise<ReadonlyMap<string, ConsentState>> {
  const writes = ledgerWritesOf(tx);
  // A subject created in this transaction has an empty ledger: nothing to read.
  if (options.created && !writes.subjects.has(subjectId)) {
    const fresh = { lastSeq: 0, kept: new Map<string, ConsentState>() };
    writes.subjects.set(subjectId, fresh);
    return fresh.kept;
  }
  const known = writes.subjects.get(subjectId);
  const missing = [...new Set(purposes)].filter((p) => !known?.kept.has(p));
  if (known && missing.length === 0) return known.kept;
  const purposeFilter = missing.length > 0 ? `s.purpose IN (${placeholders(missing.length)})` : '1 = 0';
  const rows = await query<{ lastSeq: SqlInteger | null; purpose: string | null; state: string | null }>(
    tx,
    `SELECT (SELECT MAX(seq) FROM consent_event WHERE subject_id = ?) AS "lastSeq", s.purpose AS "purpose", s.state AS "state"
       FROM (SELECT 1 AS one) AS o LEFT JOIN consent_state AS s ON s.subject_id = ? AND ${purposeFilter}`,
    [subjectId, subjectId, ...missing],
  );
  const ledger = known ?? { lastSeq: nullableInteger(rows[0]?.lastSeq) ?? 0, kept: new Map<string, ConsentState>() };
  for (const r of rows) if (r.purpose !== null && r.state !== null) ledger.kept.set(r.purpose, parseState(r.state));
  writes.subjects.set(subjectId, ledger);
  return ledger.kept;
}

/**
 * Appends an entry to a subject's ledger in this transaction, numbered after
 * the last, and moves that purpose's kept state on by it (`next`, from the
 * state before, none if never kept). Needs ledgerStates first, for the
 * subject and the entry's purpose. Written at the transaction's end.
 */
export function appendLedger(tx: Tx, subjectId: string, entry: NewEntry, next: (kept: ConsentState | undefined, seq: number) => ConsentState): void {
  const writes = ledgerWritesOf(tx);
  const ledger = writes.subjects.get(subjectId);
  if (!ledger) throw new Error('appendLedger needs ledgerStates first, under the ledger lock');
  const seq = ++ledger.lastSeq;
  const json = (list: string[] | null) => (list === null ? null : JSON.stringify(list));
  writes.entries.push([
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
    entry.evidence ?? null,
    entry.importId ?? null,
  ]);
  ledger.kept.set(entry.purpose, next(ledger.kept.get(entry.purpose), seq));
  writes.moved.set(`${subjectId}\u0000${entry.purpose}`, { subjectId, purpose: entry.purpose });
}

/** The signed receipts of a subject's grants, by receipt id (access exports). */
export async function receiptsOf(db: DbClient, subjectId: string): Promise<Map<string, string>> {
  const rows = await db.consentEvent.findMany({ where: { subjectId, receipt: { not: null } }, select: { receiptId: true, receipt: true } });
  return new Map(rows.map((r) => [r.receiptId!, r.receipt!]));
}

/** The last ledger entry under each purpose, per subject (retention). */
export async function lastEntryPerPurpose(db: DbClient, subjectIds: string[]): Promise<Array<{ subjectId: string; purpose: string; at: Date }>> {
  if (subjectIds.length === 0) return [];
  const rows = await db.consentEvent.groupBy({ by: ['subjectId', 'purpose'], where: { subjectId: { in: subjectIds } }, _max: { at: true } });
  return rows.map((r) => ({ subjectId: r.subjectId, purpose: r.purpose, at: r._max.at! }));
}

const parseState = (text: string) => JSON.parse(text) as ConsentState;

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
  const rows = await tx.consentEvent.findMany({ where: { subjectId, purpose }, orderBy: LEDGER_ORDER });
  return rows.map(toEntry);
}

/** The ledger storage the consent write paths use (grant, withdraw, opt-out, list): these SQL functions, or an in-memory fake for unit tests. */
export interface ConsentLedgerStore {
  lockSubjectLedger: typeof lockSubjectLedger;
  ledgerStates: typeof ledgerStates;
  appendLedger: typeof appendLedger;
  readLedger: typeof readLedger;
}
