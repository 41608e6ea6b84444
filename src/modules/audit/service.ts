import type { RequestContext } from '../../shared/request-context.ts';
import { uuidV7 } from '../../shared/uuid-v7.ts';
import type { DbClient, Tx } from '../../storage/database.ts';
import { beforeCommit } from '../../storage/raw-sql.ts';
import { chainHash, GENESIS_HASH, leafHash, type HashedEventContent } from './hash.ts';
import type { AuditEvent, AuditEventInput, AuditReason } from './schema.ts';
import { encodeReasons, findEvents, insertEvents, readHead, reserveSequence, type AuditRow, type AuditRowFilter } from './store.ts';

/**
 * Appends events inside the caller's transaction, so the access and its record
 * commit together or not at all. The events of one transaction are written as
 * its last step, in one chain segment, in the order they were appended: the
 * audit head is locked only from then until commit.
 */
export async function appendAuditEvents(tx: Tx, ctx: RequestContext, inputs: AuditEventInput[]): Promise<void> {
  return appendAuditEntries(
    tx,
    inputs.map((input) => ({ ctx, input })),
  );
}

type Entry = { ctx: RequestContext; input: AuditEventInput };
const pending = new WeakMap<Tx, Entry[]>();

/** Events of several requests (a group commit), each with its own context, in one chain segment. */
export async function appendAuditEntries(tx: Tx, entries: Entry[]): Promise<void> {
  if (entries.length === 0) return;
  let queued = pending.get(tx);
  if (!queued) {
    const list: Entry[] = (queued = []);
    pending.set(tx, list);
    beforeCommit(tx, () => writeEntries(tx, list));
  }
  queued.push(...entries);
}

async function writeEntries(tx: Tx, entries: Entry[]): Promise<void> {
  const head = await reserveSequence(tx, entries.length);
  const at = new Date();
  let previous = head.hash;
  const rows: AuditRow[] = entries.map(({ ctx, input }, i) => {
    const content: HashedEventContent = {
      seq: head.seq + BigInt(i + 1),
      id: uuidV7(at.getTime()),
      at,
      actorType: ctx.actor.type,
      actorId: ctx.actor.id ?? null,
      action: input.action,
      decision: input.decision,
      subject: input.subject ?? null,
      purpose: input.purpose ?? null,
      fields: input.fields ?? [],
      reasons: input.reasons ?? [],
      requestId: ctx.requestId,
      policyVersion: ctx.policyVersion,
    };
    const leaf = leafHash(content);
    const hash = chainHash(previous, leaf);
    const row = { ...content, fields: JSON.stringify(content.fields), reasons: encodeReasons(content.reasons), leafHash: leaf, prevHash: previous, hash };
    previous = hash;
    return row;
  });
  await insertEvents(tx, rows, previous);
}

export function appendAuditEvent(tx: Tx, ctx: RequestContext, input: AuditEventInput): Promise<void> {
  return appendAuditEvents(tx, ctx, [input]);
}

function contentOf(row: AuditRow): HashedEventContent {
  return {
    seq: row.seq,
    id: row.id,
    at: row.at,
    actorType: row.actorType,
    actorId: row.actorId,
    action: row.action,
    decision: row.decision,
    subject: row.subject,
    purpose: row.purpose,
    fields: JSON.parse(row.fields) as string[],
    reasons: JSON.parse(row.reasons) as AuditReason[],
    requestId: row.requestId,
    policyVersion: row.policyVersion,
  };
}

export function toAuditEvent(row: AuditRow): AuditEvent {
  const c = contentOf(row);
  return {
    seq: c.seq.toString(),
    id: c.id,
    at: c.at.toISOString(),
    actor: { type: c.actorType, id: c.actorId },
    action: c.action,
    decision: c.decision as AuditEvent['decision'],
    subject: c.subject,
    purpose: c.purpose,
    fields: c.fields,
    reasons: c.reasons,
    requestId: c.requestId,
    policyVersion: c.policyVersion,
    hash: row.hash,
  };
}

export async function listAuditEvents(db: DbClient, filter: AuditRowFilter, limit = 100): Promise<AuditEvent[]> {
  return (await findEvents(db, filter, limit)).map(toAuditEvent);
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  headSeq: string;
  /** The first event whose stored hashes do not match its content or predecessor. */
  firstBad?: { seq: string; id: string; problem: string };
}

/** Recomputes every leaf and chain hash from the stored content, in order. */
export async function verifyAuditChain(db: DbClient, batchSize = 5000): Promise<ChainVerification> {
  const head = await readHead(db);
  let previous = GENESIS_HASH;
  let expectedSeq = 1n;
  let checked = 0;
  for (;;) {
    const rows = await findEvents(db, { afterSeq: expectedSeq - 1n }, batchSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      const bad = (problem: string): ChainVerification => ({ ok: false, checked, headSeq: head.seq.toString(), firstBad: { seq: row.seq.toString(), id: row.id, problem } });
      if (row.seq !== expectedSeq) return bad(`expected sequence ${expectedSeq}; an event is missing`);
      if (row.prevHash !== previous) return bad('previous-hash link does not match the event before it');
      if (leafHash(contentOf(row)) !== row.leafHash) return bad('content does not match its leaf hash (edited)');
      if (chainHash(previous, row.leafHash) !== row.hash) return bad('chain hash does not match');
      previous = row.hash;
      expectedSeq += 1n;
      checked += 1;
    }
  }
  if (BigInt(checked) !== head.seq) return { ok: false, checked, headSeq: head.seq.toString(), firstBad: { seq: expectedSeq.toString(), id: '', problem: `head claims ${head.seq} events; only ${checked} found` } };
  if (head.hash !== previous) return { ok: false, checked, headSeq: head.seq.toString(), firstBad: { seq: head.seq.toString(), id: '', problem: 'head hash does not match the last event' } };
  return { ok: true, checked, headSeq: head.seq.toString() };
}
