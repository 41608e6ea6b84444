import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { Conflict, Forbidden, IdempotencyKeyReused, NotFound, PolicyViolation } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database, Tx } from '../../storage/database.ts';
import { createTransactionGroups } from '../../storage/grouped-transactions.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { AuditEventInput } from '../audit/schema.ts';
import { appendAuditEvent, appendAuditEvents } from '../audit/service.ts';
import type { ConsentService } from '../consent/service.ts';
import type { Policy } from '../policies/schema.ts';
import type { DoNotCall } from '../dnc/service.ts';
import type { SubjectService } from '../subjects/service.ts';
import { capHorizon, doNotCallApplies, evaluateContact, longestCapWindow, type ContactFacts, type ContactRequest, type DenyReason } from './rules.ts';
import * as store from './store.ts';

export interface ContactCaller {
  clientId: string;
  purposes: readonly string[];
  reveal: readonly string[];
}

export type AuthorizeAnswer = { decision: 'allow'; ticket: string; expiresAt: string } | { decision: 'deny'; reasons: DenyReason[]; retryAfter?: string };

/** Which identifier a channel reaches a person on. */
export const CHANNEL_IDENTIFIER: Record<string, string> = { call: 'phone', sms: 'phone', email: 'email' };
const TICKET_TTL_MS = 15 * 60 * 1000;
const PREFETCH_SLACK_MS = 60_000;
// Refs decided (and audited, in one transaction) at a time by a scrub.
const SCRUB_PART = 1000;

export interface ContactServiceDeps {
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  subjects: SubjectService;
  consent: ConsentService;
  /** The do-not-call module answers which lists hold a number; contacts never reads its tables. */
  doNotCall: DoNotCall;
}

export function createContactService(deps: ContactServiceDeps) {
  const { db, policy, audit, subjects, consent, doNotCall } = deps;
  // Capped authorizations share transactions; each subject's lock is taken before any decision in the group.
  // Once locked, a group reads the held slots of all its subjects in one statement, from a minute before the
  // longest cap window (requests decided in the group were received just before it started).
  const reservations = createTransactionGroups(db, {
    maxGroup: 200,
    lock: async (tx, subjectIds) => {
      await store.lockSubjectContacts(tx, subjectIds);
      const start = new Date(Date.now() - PREFETCH_SLACK_MS);
      const from = longestCapWindow(policy, start);
      if (from < start) await store.loadHeldSlots(tx, subjectIds, from);
    },
  });

  /** Refs with a capped authorization running in this process, and how many. */
  const cappedRunning = new Map<string, number>();

  const refuse = (ctx: RequestContext, event: { action: string; subject?: string; purpose?: string; reason: string }, error: Error) =>
    audit.refuse(ctx, { action: event.action, subject: event.subject, purpose: event.purpose, reasons: [{ code: event.reason }] }, error);

  /** The number is decrypted only when a do-not-call list could block this contact. */
  const listedField = (input: ContactRequest) => (CHANNEL_IDENTIFIER[input.channel] === 'phone' && doNotCallApplies(policy, input) ? 'phone' : undefined);

  async function validateRequest(ctx: RequestContext, input: ContactRequest, action: string): Promise<void> {
    const problems: Array<{ field: string; reason: string }> = [];
    const definition = policy.purposes[input.purpose];
    if (!definition) problems.push({ field: 'purpose', reason: 'unknown-purpose' });
    if (!policy.channels.includes(input.channel)) problems.push({ field: 'channel', reason: 'unknown-channel' });
    if (definition && input.topic !== undefined && !definition.topics.includes(input.topic)) problems.push({ field: 'topic', reason: `not a topic of ${input.purpose}` });
    if (definition && input.recipient !== undefined && definition.recipients.length > 0 && !definition.recipients.includes(input.recipient)) {
      problems.push({ field: 'recipient', reason: `not a recipient of ${input.purpose}` });
    }
    if (problems.length > 0) {
      await refuse(ctx, { action, purpose: input.purpose, reason: 'invalid-request' }, new PolicyViolation(problems.map((p) => `${p.field}: ${p.reason}`).join('; '), problems));
    }
  }

  /**
   * Decides one contact. An allow reserves a slot against every frequency cap
   * that applies, counted across all apps, agents and regions, and the slot
   * is written under the subject's lock only if the slots counted are still
   * the slots held: N concurrent requests can never allow more than the cap.
   * A request without an Idempotency-Key is decided on what its first
   * statement read and written by a second, guarded one (on PostgreSQL two
   * round trips, no transaction; on SQLite the guard runs in the write's
   * transaction); if a guard refuses, or with a key, the slots are counted
   * under the lock in a transaction that concurrent authorizations share
   * (grouped), decided one after another. The same algorithm on both engines.
   */
  async function authorize(ctx: RequestContext, caller: ContactCaller, input: { ref: string } & ContactRequest, idempotencyKey?: string): Promise<AuthorizeAnswer> {
    const action = 'contacts.authorize';
    // A key replays its first answer only for the same request; reused with another, it is refused (IETF Idempotency-Key draft).
    const requestHash = idempotencyKey ? createHash('sha256').update(canonicalJson(input)).digest('hex') : '';
    const replay = async (previous: { requestHash: string; response: string } | undefined): Promise<AuthorizeAnswer | undefined> => {
      if (!previous) return undefined;
      if (previous.requestHash === requestHash) return JSON.parse(previous.response) as AuthorizeAnswer;
      return refuse(
        ctx,
        { action, purpose: input.purpose, reason: 'idempotency-key-reused' },
        new IdempotencyKeyReused('this Idempotency-Key was sent before with a different request; use a new key for a new request'),
      );
    };
    if (idempotencyKey) {
      const replayed = await replay(await store.findIdempotent(db.read, caller.clientId, idempotencyKey));
      if (replayed) return replayed;
    }
    await validateRequest(ctx, input, action);
    const now = new Date();
    const since = capHorizon(policy, input, now);
    const capped = since.getTime() < now.getTime();
    // A request without a key is decided on what one statement read, and its decision written by a second whose
    // guards re-check it as it commits (Database.writeAlone with guards), on both engines. Requests with a key decide
    // a capped contact under the subject's lock, in a transaction (the key's first answer is stored with it); so does
    // a capped request for a ref this process is already deciding, since its guard would most likely find the slots changed.
    const guarded = !idempotencyKey && !(capped && cappedRunning.has(input.ref));
    if (!capped) return audit.unlessErased(ctx, { action, purpose: input.purpose }, decideContact());
    cappedRunning.set(input.ref, (cappedRunning.get(input.ref) ?? 0) + 1);
    try {
      return await audit.unlessErased(ctx, { action, purpose: input.purpose }, decideContact());
    } finally {
      const left = cappedRunning.get(input.ref)! - 1;
      if (left === 0) cappedRunning.delete(input.ref);
      else cappedRunning.set(input.ref, left);
    }

    async function decideContact(): Promise<AuthorizeAnswer> {
      const consentRead = consent.consentRead(input.purpose, { channel: input.channel, topic: input.topic, recipient: input.recipient });
      // Slots are read from the whole minute before the window starts (the rules count each cap's own window from
      // them), so that reads of one channel in the same minute have one shape and share a statement.
      const slotsFrom = new Date(Math.floor(since.getTime() / 60_000) * 60_000);
      const slots = guarded && capped ? store.slotsColumn(db.adapter, input.channel, slotsFrom) : undefined;
      const details = await subjects.contactDetailsOfRef(caller.clientId, input.ref, listedField(input), [consentRead.column, slots] as const);
      if (!details) return refuse(ctx, { action, purpose: input.purpose, reason: 'unknown-ref' }, new NotFound('no subject with this ref'));
      const { subjectId } = details;
      const [consentColumn, slotsRead] = details.alongside;
      const standing = { appPurposes: caller.purposes, consent: consentRead.checked(consentColumn), timezone: details.timezone };
      /** The lists that hold the number; `details.value` is the number only when listedField asked for it. */
      const listing = async () => (details.value ? doNotCall.listingSources(details.value) : []);

      /** The answer for these held slots, its audit event and, for an allow, the slot it reserves. */
      const decide = (doNotCallSources: string[], held: ContactFacts['held']): { answer: AuthorizeAnswer; event: AuditEventInput; reservation?: store.ReservationRow } => {
        const { reasons, retryAfter } = evaluateContact(policy, input, { ...standing, doNotCallSources, held }, now);
        if (reasons.length > 0) {
          return {
            answer: { decision: 'deny', reasons, ...(retryAfter ? { retryAfter: retryAfter.toISOString() } : {}) },
            event: { action, decision: 'deny', subject: subjectId, purpose: input.purpose, reasons: reasons.map((r) => ({ code: r.code, detail: r.detail })) },
          };
        }
        const ticket = `tkt_${randomBytes(18).toString('base64url')}`;
        const expiresAt = new Date(now.getTime() + TICKET_TTL_MS);
        return {
          answer: { decision: 'allow', ticket, expiresAt: expiresAt.toISOString() },
          event: {
            action,
            decision: 'allow',
            subject: subjectId,
            purpose: input.purpose,
            reasons: [{ code: 'channel', detail: input.channel }, ...(input.topic ? [{ code: 'topic', detail: input.topic }] : [])],
          },
          reservation: {
            ticket,
            subjectId,
            appId: caller.clientId,
            channel: input.channel,
            purpose: input.purpose,
            topic: input.topic ?? null,
            status: 'reserved',
            reservedAt: now,
            expiresAt,
            revealedAt: null,
            outcomeAt: null,
          },
        };
      };

      if (guarded) {
        // Decided on what the read saw, taking the number to be on no list. The write's guards check both as it
        // commits: that no list holds the number, and (for a capped contact) under the subject's lock, that its
        // slots are still those counted. A contact with nothing to check shares the group commit.
        const held = slotsRead?.held(now) ?? [];
        const decision = decide([], held);
        if (decision.reservation) {
          const rows = store.reservationRows([decision.reservation]);
          const guards = [
            ...(details.value ? doNotCall.unlistedGuards(details.value) : []),
            ...(slotsRead ? [store.claimSlot(db.adapter, subjectId, input.channel, slotsFrom, slotsRead.seen, decision.reservation.ticket)] : []),
          ];
          if (guards.length === 0) {
            await audit.record(ctx, decision.event, rows);
            return decision.answer;
          }
          if (await audit.recordIf(ctx, decision.event, rows, guards)) return decision.answer;
          // A guard refused (the number is listed, keys were rotated, or another decision took a slot of this
          // subject meanwhile): nothing was written; decide again, under the lock, with the number looked up.
        } else {
          // A refusal reserves nothing, so what was read stands; the number is looked up so that every reason is given.
          const refusal = details.value ? decide(await listing(), held) : decision;
          await audit.record(ctx, refusal.event);
          return refusal.answer;
        }
      } else if (!idempotencyKey && !capped) {
        // No cap counts this contact's slots and no key can replay it: the decision reads nothing under the
        // subject's lock, so it needs no transaction. Its slot commits with its audit event in one write,
        // shared with the other requests that arrive meanwhile. Capped decisions of the same subject stay
        // exact: they count under the lock, and this one counts nothing.
        const { answer, event, reservation } = decide(await listing(), []);
        await audit.record(ctx, event, reservation && store.reservationRows([reservation]));
        return answer;
      }
      const doNotCallSources = await listing();
      // A key used before is looked up again under the lock (a request with the same key may have just
      // committed). The piece only reads it: a reused key is refused, and audited, after the group, since
      // a refusal answers its own request only and the group holds the write lock meanwhile.
      const outcome = await reservations.run(subjectId, async (tx): Promise<{ previous: { requestHash: string; response: string } } | { answer: AuthorizeAnswer }> => {
        if (idempotencyKey) {
          const previous = await store.findIdempotent(tx, caller.clientId, idempotencyKey);
          if (previous) return { previous };
        }
        const { answer, event, reservation } = decide(doNotCallSources, await store.reservationsSince(tx, subjectId, input.channel, since, now));
        if (reservation) store.reserveSlot(tx, reservation);
        await appendAuditEvent(tx, ctx, event);
        if (idempotencyKey) await store.saveIdempotent(tx, { appId: caller.clientId, key: idempotencyKey, requestHash, response: JSON.stringify(answer), at: now });
        return { answer };
      });
      return 'answer' in outcome ? outcome.answer : (await replay(outcome.previous))!;
    }
  }

  /**
   * A whole campaign list at once, with the same rules as authorize but
   * without reserving slots: bulk reads, one audit event per subject decision,
   * appended in bulk. Unknown refs and other apps' refs are denied alike.
   */
  async function scrub(
    ctx: RequestContext,
    caller: ContactCaller,
    input: ContactRequest & { refs: string[] },
  ): Promise<{ allowed: string[]; denied: Array<{ ref: string; reasons: Array<{ code: string; detail: string }> }> }> {
    const action = 'contacts.scrub';
    await validateRequest(ctx, input, action);
    const now = new Date();
    const refs = [...new Set(input.refs)];
    const checkList = CHANNEL_IDENTIFIER[input.channel] === 'phone' && doNotCallApplies(policy, input);
    const since = capHorizon(policy, input, now);
    const allowed: string[] = [];
    const denied: Array<{ ref: string; reasons: Array<{ code: string; detail: string }> }> = [];
    // In parts: memory stays bounded by a part, and other requests are served between parts.
    for (let i = 0; i < refs.length; i += SCRUB_PART) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const part = refs.slice(i, i + SCRUB_PART);
      const details = await subjects.contactDetailsByRefs(caller.clientId, part, checkList ? 'phone' : undefined);
      const subjectIds = [...new Set([...details.values()].map((d) => d.subjectId))];
      const consents = await consent.checkConsentMany(subjectIds, input.purpose, { channel: input.channel, topic: input.topic, recipient: input.recipient });
      const dnc = checkList ? await doNotCall.matches([...details.values()].flatMap((d) => d.digests)) : new Map<string, string[]>();
      const held = await store.reservationsSinceMany(db, subjectIds, input.channel, since, now);

      const events: AuditEventInput[] = [];
      for (const ref of part) {
        const d = details.get(ref);
        if (!d) {
          denied.push({ ref, reasons: [{ code: 'unknown-ref', detail: 'no subject with this ref' }] });
          continue;
        }
        const facts: ContactFacts = {
          appPurposes: caller.purposes,
          consent: consents.get(d.subjectId)!,
          doNotCallSources: d.digests.flatMap((digest) => dnc.get(digest) ?? []),
          timezone: d.timezone,
          held: held.get(d.subjectId) ?? [],
        };
        const { reasons } = evaluateContact(policy, input, facts, now);
        if (reasons.length === 0) allowed.push(ref);
        else denied.push({ ref, reasons });
        events.push({ action, decision: reasons.length === 0 ? 'allow' : 'deny', subject: d.subjectId, purpose: input.purpose, reasons: reasons.map((r) => ({ code: r.code })) });
      }
      await db.transaction((tx) => appendAuditEvents(tx, ctx, events));
    }
    return { allowed, denied };
  }

  async function ticketOf(ctx: RequestContext, caller: ContactCaller, ticket: string, action: string): Promise<store.ReservationRow> {
    const row = /^tkt_[A-Za-z0-9_-]{24}$/.test(ticket) ? await store.findReservation(db.read, ticket) : undefined;
    // Another app's ticket looks exactly like one that does not exist.
    if (!row || row.appId !== caller.clientId) return refuse(ctx, { action, reason: 'unknown-ticket' }, new NotFound('no such ticket'));
    return row;
  }

  /** The raw identifier for the ticket's channel, once, if the purpose lists it in `reveal`. */
  async function reveal(ctx: RequestContext, caller: ContactCaller, ticket: string): Promise<{ channel: string; field: string; value: string }> {
    const action = 'contacts.reveal';
    const row = await ticketOf(ctx, caller, ticket, action);
    const event = { action, subject: row.subjectId, purpose: row.purpose };
    const field = CHANNEL_IDENTIFIER[row.channel];
    if (!field || !policy.purposes[row.purpose]?.reveal.includes(field) || !caller.reveal.includes(row.channel)) {
      return refuse(ctx, { ...event, reason: 'not-revealable' }, new Forbidden(`the ${row.purpose} purpose or this app may not reveal the ${field ?? row.channel} of a person`));
    }
    const now = new Date();
    if (row.expiresAt.getTime() <= now.getTime()) return refuse(ctx, { ...event, reason: 'ticket-expired' }, new Conflict('the ticket has expired; authorize the contact again'));
    if (row.status !== 'reserved') return refuse(ctx, { ...event, reason: 'ticket-closed' }, new Conflict(`the contact is already ${row.status}`));
    const details = await subjects.contactDetails(row.subjectId, field);
    if (!details?.value) return refuse(ctx, { ...event, reason: 'no-identifier' }, new NotFound(`Custos holds no ${field} for this person`));
    const revealed = await db.transaction(async (tx) => {
      if (!(await store.markRevealed(tx, ticket, now))) return false;
      await appendAuditEvent(tx, ctx, { ...event, decision: 'allow', fields: [field], reasons: [{ code: 'ticket', detail: ticket }] });
      return true;
    });
    if (!revealed) return refuse(ctx, { ...event, reason: 'already-revealed' }, new Conflict('this ticket has been revealed already; a ticket reveals once'));
    return { channel: row.channel, field, value: details.value };
  }

  /** sent | failed keep the slot (the contact was attempted); not-sent gives it back. */
  async function outcome(ctx: RequestContext, caller: ContactCaller, ticket: string, status: 'sent' | 'failed' | 'not-sent'): Promise<{ ticket: string; status: string }> {
    const action = 'contacts.outcome';
    const row = await ticketOf(ctx, caller, ticket, action);
    const stored = status === 'not-sent' ? 'released' : status;
    const recorded = await db.transaction(async (tx) => {
      if (!(await store.recordOutcome(tx, ticket, stored, new Date()))) return false;
      await appendAuditEvent(tx, ctx, { action, decision: 'info', subject: row.subjectId, purpose: row.purpose, reasons: [{ code: status, detail: ticket }] });
      return true;
    });
    if (!recorded)
      return refuse(ctx, { action, subject: row.subjectId, purpose: row.purpose, reason: 'outcome-recorded' }, new Conflict(`the outcome of this ticket is already recorded (${row.status})`));
    return { ticket, status: stored };
  }

  /** The contacts made with a subject, as a person's access export shows them. */
  async function contactsOfSubject(subjectId: string) {
    return (await store.reservationsOf(db.read, subjectId)).map((r) => ({
      appId: r.appId,
      channel: r.channel,
      purpose: r.purpose,
      topic: r.topic,
      at: r.reservedAt,
      revealed: r.revealedAt !== null,
      outcome: r.status,
    }));
  }

  return {
    authorize,
    scrub,
    reveal,
    outcome,
    contactsOfSubject,
    eraseSubjectRows: (tx: Tx, subjectId: string) => store.deleteReservations(tx, subjectId),
    /** The lock every capped decision of the subject takes first; an erasure takes it before it holds the subject. */
    lockSubject: (tx: Tx, subjectId: string) => store.lockSubjectContacts(tx, [subjectId]),
    lastReservationPerPurpose: (subjectIds: string[]) => store.lastReservationPerPurpose(db.read, subjectIds),
  };
}

export type ContactService = ReturnType<typeof createContactService>;
