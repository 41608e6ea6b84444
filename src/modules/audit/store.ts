import type { DbClient, Tx } from '../../storage/database.ts';
import { execute, insertRows, query } from '../../storage/raw-sql.ts';
import type { AuditReason } from './schema.ts';

export interface AuditRow {
  seq: bigint;
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  decision: string;
  subject: string | null;
  purpose: string | null;
  fields: string;
  reasons: string;
  requestId: string | null;
  policyVersion: string;
  leafHash: string;
  prevHash: string;
  hash: string;
}

export interface AuditRowFilter {
  action?: string;
  actorId?: string;
  subject?: string;
  afterSeq?: bigint;
}

export function encodeReasons(reasons: AuditReason[]): string {
  return JSON.stringify(reasons);
}

/**
 * Reserves `count` sequence numbers. The UPDATE takes the head row's lock until
 * commit, so appends from every replica are strictly ordered and the chain
 * never forks. Returns the head as it was before this reservation.
 */
export async function reserveSequence(tx: Tx, count: number): Promise<{ seq: bigint; hash: string }> {
  const [head] = await query<{ seq: bigint | number | string; hash: string }>(tx, 'UPDATE audit_head SET seq = seq + ? WHERE id = 1 RETURNING seq, hash', [count]);
  return { seq: BigInt(head!.seq) - BigInt(count), hash: head!.hash };
}

const EVENT_COLUMNS = ['seq', 'id', 'at', 'actor_type', 'actor_id', 'action', 'decision', 'subject', 'purpose', 'fields', 'reasons', 'request_id', 'policy_version', 'leaf_hash', 'prev_hash', 'hash'];

export async function insertEvents(tx: Tx, rows: AuditRow[], newHeadHash: string): Promise<void> {
  await insertRows(
    tx,
    'audit_event',
    EVENT_COLUMNS,
    rows.map((r) => [r.seq, r.id, r.at, r.actorType, r.actorId, r.action, r.decision, r.subject, r.purpose, r.fields, r.reasons, r.requestId, r.policyVersion, r.leafHash, r.prevHash, r.hash]),
  );
  await execute(tx, 'UPDATE audit_head SET hash = ? WHERE id = 1', [newHeadHash]);
}

export async function findEvents(db: DbClient | Tx, filter: AuditRowFilter, limit: number): Promise<AuditRow[]> {
  return db.auditEvent.findMany({
    where: {
      action: filter.action,
      actorId: filter.actorId,
      subject: filter.subject,
      ...(filter.afterSeq !== undefined ? { seq: { gt: filter.afterSeq } } : {}),
    },
    orderBy: { seq: 'asc' },
    take: limit,
  });
}

export async function readHead(db: DbClient): Promise<{ seq: bigint; hash: string }> {
  const head = await db.auditHead.findUniqueOrThrow({ where: { id: 1 } });
  return { seq: head.seq, hash: head.hash };
}
