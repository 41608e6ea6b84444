import type { RequestContext } from '../../shared/request-context.ts';
import { uuidV7 } from '../../shared/uuid-v7.ts';
import type { Database, Tx } from '../../storage/database.ts';
import { afterCommit, beforeCommit, ownerOf } from '../../storage/raw-sql.ts';
import { leafContentOf } from './leaf.ts';
import type { AuditEvent, AuditEventInput } from './schema.ts';
import { eventsInInsertOrder, insertEvents, type AuditRow, type NewAuditRow } from './store.ts';

type Entry = { ctx: RequestContext; input: AuditEventInput };
const pending = new WeakMap<Tx, Entry[]>();

/** The integrator of each open database, woken when a transaction with events commits on it. */
const appendListeners = new WeakMap<object, Set<() => void>>();

export function onAuditAppended(db: Database, listener: () => void): () => void {
  const set = appendListeners.get(db) ?? new Set();
  appendListeners.set(db, set.add(listener));
  return () => set.delete(listener);
}

/**
 * Appends events inside the caller's transaction, so the access and its record
 * commit together or not at all (fail closed). The events are inserted as the
 * transaction's last step and take no shared row: their place in the log
 * (leaf index, leaf hash, chain hash) is given right after commit by the
 * integrator, so writers on every replica never wait for one another here.
 */
export async function appendAuditEvents(tx: Tx, ctx: RequestContext, inputs: AuditEventInput[]): Promise<void> {
  return appendAuditEntries(
    tx,
    inputs.map((input) => ({ ctx, input })),
  );
}

export function appendAuditEvent(tx: Tx, ctx: RequestContext, input: AuditEventInput): Promise<void> {
  return appendAuditEvents(tx, ctx, [input]);
}

/** Events of several requests (a group commit), each with its own context. */
export async function appendAuditEntries(tx: Tx, entries: Entry[]): Promise<void> {
  if (entries.length === 0) return;
  let queued = pending.get(tx);
  if (!queued) {
    const list: Entry[] = (queued = []);
    pending.set(tx, list);
    beforeCommit(tx, () => writeEntries(tx, list));
    const listeners = appendListeners.get(ownerOf(tx));
    if (listeners) afterCommit(tx, () => listeners.forEach((wake) => wake()));
  }
  queued.push(...entries);
}

async function writeEntries(tx: Tx, entries: Entry[]): Promise<void> {
  const at = new Date();
  const rows: NewAuditRow[] = entries.map(({ ctx, input }) => ({
    id: uuidV7(at.getTime()),
    at,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id ?? null,
    action: input.action,
    decision: input.decision,
    subject: input.subject ?? null,
    purpose: input.purpose ?? null,
    fields: JSON.stringify(input.fields ?? []),
    reasons: JSON.stringify(input.reasons ?? []),
    requestId: ctx.requestId,
    policyVersion: ctx.policyVersion,
  }));
  await insertEvents(tx, rows);
}

/** The event as officers see it: the leaf entry's values (leafIndex for index), plus its leaf hash. */
export function toAuditEvent(row: AuditRow): AuditEvent {
  const c = leafContentOf(row, row.leafIndex ?? -1);
  return {
    leafIndex: row.leafIndex,
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
    leafHash: row.leafHash,
  };
}

/** Every event as written, placed or not, in insertion order (what a test or tool wrote just now). */
export async function listAuditEvents(db: Database, filter: { action?: string } = {}, limit = 100): Promise<AuditEvent[]> {
  return (await eventsInInsertOrder(db, filter, limit)).map(toAuditEvent);
}
