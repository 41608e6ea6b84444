import { createHash } from 'node:crypto';
import type { RequestContext } from '../../shared/request-context.ts';
import { uuidV7 } from '../../shared/uuid-v7.ts';
import type { Database, Tx } from '../../storage/database.ts';
import { type SqlStatement, type TableRows } from '../../storage/raw-sql.ts';
import { leafContentOf } from './leaf.ts';
import type { AuditEvent, AuditEventInput } from './schema.ts';
import { unitStateKey } from '../../storage/unit-of-work.ts';
import { eventInserts, eventsInInsertOrder, eventWrites, insertEventsAlone, type AuditRow, type NewAuditRow } from './store.ts';

/** An event, and for events written alone, the rows of the access it records, which commit with it. */
export type Entry = { ctx: RequestContext; input: AuditEventInput; alongside?: TableRows };

/** The events a unit of work appends, inserted as its last step; the first one also wakes the integrator after commit. */
const PENDING_EVENTS = unitStateKey('audit events', (unit): Entry[] => {
  const entries: Entry[] = [];
  unit.lastly(() => eventInserts(rowsOf(unit.database, entries)));
  const listeners = appendListeners.get(unit.database);
  if (listeners) unit.afterCommit(() => listeners.forEach((wake) => wake()));
  return entries;
});

/**
 * The names the policy declares (purposes, fields), per open database. A
 * purpose or field name an event carries that is not among them is caller
 * text (a typo, or a phone number typed as a key): the trail keeps it only as
 * a short hash, never verbatim.
 */
const vocabularies = new WeakMap<object, { purposes: ReadonlySet<string>; fields: ReadonlySet<string> }>();

export function setAuditVocabulary(db: Database, vocabulary: { purposes: Iterable<string>; fields: Iterable<string> }): void {
  vocabularies.set(db, { purposes: new Set(vocabulary.purposes), fields: new Set(vocabulary.fields) });
}

export function auditVocabulary(db: Database): { purposes: ReadonlySet<string>; fields: ReadonlySet<string> } | undefined {
  return vocabularies.get(db);
}

/** How caller text that names nothing the policy knows is recorded: `unknown:` and 6 hex digits of its SHA-256. */
export function unknownName(text: string): string {
  return `unknown:${createHash('sha256').update(text).digest('hex').slice(0, 6)}`;
}

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
  if (inputs.length === 0) return;
  tx.unit.state(PENDING_EVENTS).push(...inputs.map((input) => ({ ctx, input })));
}

export function appendAuditEvent(tx: Tx, ctx: RequestContext, input: AuditEventInput): Promise<void> {
  return appendAuditEvents(tx, ctx, [input]);
}

/**
 * Events of accesses that need no transaction (a read, a refusal, a token, a
 * contact no cap counts), of several requests at once, with the rows those
 * accesses write, in one atomic write: on PostgreSQL one statement, no
 * transaction around it. Awaited before the answer goes out, so no data
 * leaves and nothing is written without its event.
 */
export async function appendAuditEntriesAlone(db: Database, entries: Entry[]): Promise<void> {
  if (entries.length === 0) return;
  await insertEventsAlone(db, rowsOf(db, entries), mergedRows(entries.flatMap((e) => (e.alongside ? [e.alongside] : []))));
  appendListeners.get(db)?.forEach((wake) => wake());
}

/**
 * One access whose decision rests on values read a statement earlier: its
 * event and rows are written alone, kept only if the guards (which re-check
 * those values) hold. False, and nothing written, when one does not, or
 * where the database has no guarded write (SQLite): the caller decides again.
 */
export async function appendAuditEntryIf(db: Database, guards: readonly SqlStatement[], entry: Entry): Promise<boolean> {
  const written = await db.writeAlone(eventWrites(rowsOf(db, [entry]), entry.alongside ? [entry.alongside] : []), guards);
  if (written) appendListeners.get(db)?.forEach((wake) => wake());
  return written;
}

/** Rows for the same table and columns, as one write. */
function mergedRows(writes: TableRows[]): TableRows[] {
  const byShape = new Map<string, TableRows>();
  for (const write of writes) {
    const shape = `${write.table}(${write.columns.join(',')})`;
    const merged = byShape.get(shape);
    if (merged) merged.rows.push(...write.rows);
    else byShape.set(shape, { ...write, rows: [...write.rows] });
  }
  return [...byShape.values()];
}

function rowsOf(db: object, entries: Entry[]): NewAuditRow[] {
  const at = new Date();
  const known = vocabularies.get(db);
  const purposeOf = (p: string | undefined) => (p === undefined ? null : !known || known.purposes.has(p) ? p : unknownName(p));
  const fieldsOf = (fields: string[] | undefined) => (fields ?? []).map((f) => (!known || known.fields.has(f) ? f : unknownName(f)));
  return entries.map(({ ctx, input }) => ({
    id: uuidV7(at.getTime()),
    at,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id ?? null,
    action: input.action,
    decision: input.decision,
    subject: input.subject ?? null,
    purpose: purposeOf(input.purpose),
    fields: JSON.stringify(fieldsOf(input.fields)),
    reasons: JSON.stringify(input.reasons ?? []),
    requestId: ctx.requestId,
    policyVersion: ctx.policyVersion,
  }));
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
