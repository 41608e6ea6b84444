import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import { placeholders, query } from '../../storage/raw-sql.ts';
import { instant, type SqlInstant } from '../../storage/sql-values.ts';
import type { Consent, ConsentCaller, Violation } from './consent.ts';
import { signConsentReceipt } from './receipt.ts';
import type { ConsentState } from './schema.ts';
import { applyEntry, emptyConsent, type LedgerEntry } from './state.ts';

/** A grant or withdrawal from another system's history, with its original time. */
export interface HistoricEvent {
  purpose: string;
  kind: 'grant' | 'withdraw';
  at: Date;
  channels?: string[];
  topics?: string[];
  recipients?: string[];
  source: string;
  noticeVersion?: string;
  expiresAt?: Date;
  evidence?: string;
}

/**
 * What the policy says of imported history, checked before anything of the
 * row is written: the same purpose, channel, topic and recipient rules as a
 * live grant or withdrawal, consent only for consent-based purposes, and no
 * event in the future (history has happened).
 */
export function historyProblems(c: Consent, caller: ConsentCaller, events: HistoricEvent[], now: Date): Violation[] {
  const out: Violation[] = [];
  events.forEach((e, i) => {
    const at = `consents[${i}]`;
    const problems = c.purposeProblems(caller, e.purpose, e);
    if (problems.forbidden) out.push({ field: `${at}.purpose`, reason: 'purpose-not-granted' });
    for (const v of problems.violations) out.push({ field: `${at}.${v.field}`, reason: v.reason });
    if (problems.definition && problems.definition.basis !== 'consent') out.push({ field: `${at}.purpose`, reason: `the purpose's lawful basis is ${problems.definition.basis}, not consent` });
    if (e.at.getTime() > now.getTime()) out.push({ field: `${at}.${e.kind === 'grant' ? 'grantedAt' : 'withdrawnAt'}`, reason: 'is in the future' });
    if (e.expiresAt && e.expiresAt.getTime() <= e.at.getTime()) out.push({ field: `${at}.expiresAt`, reason: 'is not after grantedAt' });
  });
  return out;
}

/**
 * The ledger id of an imported event: derived from the subject and the event,
 * so the same history imported again is recognised and not entered twice.
 */
function historicId(subjectId: string, e: HistoricEvent): string {
  const hex = createHash('sha256')
    .update(subjectId)
    .update('\u0000')
    .update(canonicalJson({ ...e, at: e.at.toISOString(), expiresAt: e.expiresAt?.toISOString() }))
    .digest('hex');
  // Shaped as a UUID version 8 (RFC 9562 §5.8: bits of the implementer's choosing), as ledger ids are UUIDs.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A subject whose imported history is to be entered, as the import wrote them. */
export interface HistorySubject {
  id: string;
  ref: string;
  isNew: boolean;
}

/**
 * Enters imported history in subjects' ledgers, inside the import's
 * transaction and under the ledger locks (the import takes them for its rows
 * first). Events already entered (a re-run) are skipped; the rest go in in
 * their original order and times, and each purpose's kept state becomes the
 * fold of its whole ledger in time order: an old withdrawal still wins over an
 * older grant, and history older than what the ledger holds already (a live
 * grant made before the import) takes its place in time rather than
 * overriding what came after it. Grants get a receipt that says it was
 * imported; the receipts of all the subjects are signed at once (signing
 * waits on the crypto thread pool, so one at a time would leave it idle).
 * Answers how many events were entered for each subject, in order.
 */
export async function importHistories(c: Consent, tx: Tx, ctx: RequestContext, items: Array<{ subject: HistorySubject; events: HistoricEvent[] }>, importId: string): Promise<number[]> {
  const prepared = [];
  for (const item of items) prepared.push(await historyToEnter(c, tx, item.subject, item.events));
  const importedAt = new Date();
  const receipts = await Promise.all(
    prepared.map((p, i) => Promise.all(p.fresh.map(([id, e]) => (e.kind === 'grant' ? importedReceipt(c, items[i]!.subject, id, e, importId, importedAt) : undefined)))),
  );
  prepared.forEach((p, i) => enterHistory(c, tx, ctx, items[i]!.subject, p, receipts[i]!, importId));
  return prepared.map((p) => p.fresh.length);
}

/** What of a subject's imported history is new to its ledger, and, per purpose whose new history is older than its ledger, the kept state folded whole. */
async function historyToEnter(c: Consent, tx: Tx, subject: HistorySubject, events: HistoricEvent[]): Promise<{ fresh: Array<[string, HistoricEvent]>; refold: Map<string, ConsentState> }> {
  const refold = new Map<string, ConsentState>();
  if (events.length === 0) return { fresh: [], refold };
  const withIds = [...new Map(events.map((e) => [historicId(subject.id, e), e])).entries()];
  const known = subject.isNew
    ? new Set<string>()
    : await enteredAlready(
        tx,
        subject.id,
        withIds.map(([id]) => id),
      );
  const fresh = withIds.filter(([id]) => !known.has(id)).sort(([, a], [, b]) => a.at.getTime() - b.at.getTime());
  if (fresh.length === 0) return { fresh, refold };
  const purposes = [...new Set(fresh.map(([, e]) => e.purpose))];
  await c.keptStates(tx, subject.id, purposes, { created: subject.isNew }); // appendLedger moves on the states read here, under the lock
  const latest = subject.isNew ? new Map<string, Date>() : await latestPerPurpose(tx, subject.id, purposes);
  for (const purpose of purposes) {
    const mine = fresh.filter(([, e]) => e.purpose === purpose).map(([, e]) => e);
    const last = latest.get(purpose);
    if (last && mine[0]!.at.getTime() < last.getTime()) refold.set(purpose, await foldWith(c, tx, subject.id, purpose, mine));
  }
  return { fresh, refold };
}

function importedReceipt(c: Consent, subject: HistorySubject, id: string, e: HistoricEvent, importId: string, importedAt: Date): Promise<string> {
  const { policy, deps } = c;
  const definition = policy.purposes[e.purpose]!;
  return signConsentReceipt(deps.signingKey, {
    receiptId: id,
    principal: subject.ref,
    purpose: e.purpose,
    definition,
    fields: policy.fields,
    channels: e.channels ?? definition.channels,
    topics: e.topics ?? definition.topics,
    recipients: e.recipients ?? [],
    source: e.source,
    noticeVersion: e.noticeVersion ?? null,
    expiresAt: e.expiresAt ?? null,
    at: e.at,
    issuer: deps.issuer,
    policyUrl: deps.policyUrl,
    jurisdiction: policy.defaults.region,
    imported: { importId, at: importedAt },
  });
}

function enterHistory(
  c: Consent,
  tx: Tx,
  ctx: RequestContext,
  subject: HistorySubject,
  prepared: { fresh: Array<[string, HistoricEvent]>; refold: Map<string, ConsentState> },
  receipts: Array<string | undefined>,
  importId: string,
): void {
  prepared.fresh.forEach(([id, e], i) => {
    const definition = c.policy.purposes[e.purpose]!;
    const entry = {
      ...ledgerEntryOf(e, e.kind === 'grant' ? id : null),
      id,
      receipt: receipts[i],
      actorId: ctx.actor.id ?? null,
      requestId: ctx.requestId,
      evidence: e.evidence ?? null,
      importId,
    };
    const whole = prepared.refold.get(e.purpose);
    c.store.appendLedger(tx, subject.id, entry, (before, seq) => whole ?? applyEntry(definition, before ?? emptyConsent(e.purpose), { ...entry, seq }));
  });
}

/** An imported event as the ledger keeps it (its number aside). */
function ledgerEntryOf(e: HistoricEvent, receiptId: string | null): Omit<LedgerEntry, 'seq'> {
  return {
    purpose: e.purpose,
    kind: e.kind,
    channels: e.channels ?? null,
    topics: e.topics ?? null,
    recipients: e.recipients ?? null,
    source: e.source,
    noticeVersion: e.noticeVersion ?? null,
    expiresAt: e.expiresAt ?? null,
    gpc: false,
    receiptId,
    at: e.at,
  };
}

async function enteredAlready(tx: Tx, subjectId: string, ids: string[]): Promise<Set<string>> {
  const rows = await query<{ id: string }>(tx, `SELECT id FROM consent_event WHERE subject_id = ? AND id IN (${placeholders(ids.length)})`, [subjectId, ...ids]);
  return new Set(rows.map((r) => r.id));
}

async function latestPerPurpose(tx: Tx, subjectId: string, purposes: string[]): Promise<Map<string, Date>> {
  const rows = await query<{ purpose: string; at: SqlInstant }>(
    tx,
    `SELECT purpose, MAX(at) AS "at" FROM consent_event WHERE subject_id = ? AND purpose IN (${placeholders(purposes.length)}) GROUP BY purpose`,
    [subjectId, ...purposes],
  );
  return new Map(rows.map((r) => [r.purpose, instant(r.at)]));
}

/** The kept state of a purpose once these events join its ledger: the fold of all of it in time order (then entry order). */
async function foldWith(c: Consent, tx: Tx, subjectId: string, purpose: string, events: HistoricEvent[]): Promise<ConsentState> {
  const definition = c.policy.purposes[purpose]!;
  const stored = await c.store.readLedger(tx, subjectId);
  const joined: LedgerEntry[] = [...stored.filter((e) => e.purpose === purpose), ...events.map((e, i) => ({ ...ledgerEntryOf(e, null), seq: Number.MAX_SAFE_INTEGER - events.length + i }))].sort(
    (a, b) => a.at.getTime() - b.at.getTime() || a.seq - b.seq,
  );
  return joined.reduce((state, e) => applyEntry(definition, state, e), emptyConsent(purpose));
}
