import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { execute, placeholders } from '../../storage/raw-sql.ts';
import type { LedgerEntry } from './state.ts';

const list = (text: string | null) => (text === null ? null : (JSON.parse(text) as string[]));

/**
 * Ledger entries are ordered per subject. PostgreSQL: a transaction-scoped
 * advisory lock on the subject serialises concurrent grants and withdrawals of
 * one subject across replicas; SQLite serialises all writers already.
 */
export async function lockSubjectLedger(tx: Tx, engine: Database['kind'], subjectId: string): Promise<void> {
  if (engine === 'postgresql') await execute(tx, 'SELECT pg_advisory_xact_lock(hashtextextended(?, 7))', [`consent:${subjectId}`]);
}

export async function readLedger(db: DbClient | Tx, subjectId: string): Promise<LedgerEntry[]> {
  const rows = await db.consentEvent.findMany({ where: { subjectId }, orderBy: { seq: 'asc' } });
  return rows.map(toEntry);
}

type LedgerRow = { seq: number | bigint; purpose: string; kind: string; channels: string | null; topics: string | null; recipients: string | null; source: string; noticeVersion: string | null; expiresAt: Date | string | null; gpc: boolean | number | bigint; receiptId: string | null; at: Date | string };

/** The hot path of every consent check: one purpose's entries, one plain query. */
export async function readPurposeLedger(db: Database, subjectId: string, purpose: string): Promise<LedgerEntry[]> {
  const rows = await db.readRaw<LedgerRow>(
    `SELECT seq, purpose, kind, channels, topics, recipients, source, notice_version AS "noticeVersion", expires_at AS "expiresAt", gpc, receipt_id AS "receiptId", at
       FROM consent_event WHERE subject_id = ? AND purpose = ? ORDER BY seq`,
    [subjectId, purpose],
  );
  return rows.map(toEntry);
}

function toEntry(r: LedgerRow): LedgerEntry {
  return {
    seq: Number(r.seq),
    purpose: r.purpose,
    kind: r.kind as LedgerEntry['kind'],
    channels: list(r.channels),
    topics: list(r.topics),
    recipients: list(r.recipients),
    source: r.source,
    noticeVersion: r.noticeVersion,
    expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt),
    gpc: Boolean(Number(r.gpc)),
    receiptId: r.receiptId,
    at: new Date(r.at),
  };
}

/** One purpose's ledger for many subjects (campaign scrubbing), in chunks. */
export async function readPurposeLedgers(db: Database, subjectIds: string[], purpose: string): Promise<Map<string, LedgerEntry[]>> {
  const out = new Map<string, LedgerEntry[]>();
  for (let i = 0; i < subjectIds.length; i += 5000) {
    const chunk = subjectIds.slice(i, i + 5000);
    const rows = await db.readRaw<LedgerRow & { subjectId: string }>(
      `SELECT subject_id AS "subjectId", seq, purpose, kind, channels, topics, recipients, source, notice_version AS "noticeVersion", expires_at AS "expiresAt", gpc, receipt_id AS "receiptId", at
         FROM consent_event WHERE purpose = ? AND subject_id IN (${placeholders(chunk.length)}) ORDER BY subject_id, seq`,
      [purpose, ...chunk],
    );
    for (const r of rows) {
      if (!out.has(r.subjectId)) out.set(r.subjectId, []);
      out.get(r.subjectId)!.push(toEntry(r));
    }
  }
  return out;
}

export async function appendLedger(tx: Tx, subjectId: string, entry: Omit<LedgerEntry, 'seq'> & { id: string; actorId: string | null; requestId: string | null; receipt?: string }): Promise<number> {
  const last = await tx.consentEvent.findFirst({ where: { subjectId }, orderBy: { seq: 'desc' }, select: { seq: true } });
  const seq = (last?.seq ?? 0) + 1;
  await tx.consentEvent.create({
    data: {
      id: entry.id,
      subjectId,
      seq,
      purpose: entry.purpose,
      kind: entry.kind,
      channels: entry.channels === null ? null : JSON.stringify(entry.channels),
      topics: entry.topics === null ? null : JSON.stringify(entry.topics),
      recipients: entry.recipients === null ? null : JSON.stringify(entry.recipients),
      source: entry.source,
      noticeVersion: entry.noticeVersion,
      expiresAt: entry.expiresAt,
      gpc: entry.gpc,
      receiptId: entry.receiptId,
      receipt: entry.receipt ?? null,
      actorId: entry.actorId,
      requestId: entry.requestId,
      at: entry.at,
    },
  });
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
}

/** The last ledger entry under each purpose, per subject (retention). */
export async function lastEntryPerPurpose(db: DbClient, subjectIds: string[]): Promise<Array<{ subjectId: string; purpose: string; at: Date }>> {
  if (subjectIds.length === 0) return [];
  const rows = await db.consentEvent.groupBy({ by: ['subjectId', 'purpose'], where: { subjectId: { in: subjectIds } }, _max: { at: true } });
  return rows.map((r) => ({ subjectId: r.subjectId, purpose: r.purpose, at: r._max.at! }));
}
