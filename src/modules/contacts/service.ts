import { randomBytes, randomUUID } from 'node:crypto';
import { Conflict, Forbidden, InvalidIdentifier, NotFound, PolicyViolation } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { ConsentService } from '../consent/service.ts';
import { parseDuration, subtractDuration, addDuration } from '../policies/duration.ts';
import type { Policy } from '../policies/schema.ts';
import type { SubjectService } from '../subjects/service.ts';
import { quietHoursAt } from './quiet-hours.ts';
import * as store from './store.ts';

export interface ContactCaller {
  clientId: string;
  purposes: readonly string[];
  reveal: readonly string[];
}

export interface DenyReason {
  code: 'purpose-not-granted' | 'channel-not-allowed' | 'no-consent' | 'opted-out' | 'topic-opted-out' | 'do-not-call' | 'frequency-cap' | 'quiet-hours';
  detail: string;
}

export type AuthorizeAnswer = { decision: 'allow'; ticket: string; expiresAt: string } | { decision: 'deny'; reasons: DenyReason[]; retryAfter?: string };

/** Which identifier a channel reaches a person on. */
export const CHANNEL_IDENTIFIER: Record<string, string> = { call: 'phone', sms: 'phone', email: 'email' };
const TICKET_TTL_MS = 15 * 60 * 1000;
const DNC_INTERNAL_SOURCE = store.INTERNAL_IMPORT;

export interface ContactServiceDeps {
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  subjects: SubjectService;
  consent: ConsentService;
}

export function createContactService(deps: ContactServiceDeps) {
  const { db, policy, audit, subjects, consent } = deps;

  async function refuse(ctx: RequestContext, event: { action: string; subject?: string; purpose?: string; reason: string }, error: Error): Promise<never> {
    await audit.record(ctx, { action: event.action, decision: 'deny', subject: event.subject, purpose: event.purpose, reasons: [{ code: event.reason }] });
    throw error;
  }

  /** Reasons that do not depend on other contacts: grants, channel, consent, do-not-call, quiet hours. */
  async function standingReasons(caller: ContactCaller, subjectId: string, input: { channel: string; purpose: string; topic?: string }, now: Date): Promise<{ reasons: DenyReason[]; until: Date[] }> {
    const definition = policy.purposes[input.purpose]!;
    const reasons: DenyReason[] = [];
    const until: Date[] = [];
    if (!caller.purposes.includes(input.purpose)) reasons.push({ code: 'purpose-not-granted', detail: `this app is not granted ${input.purpose}` });
    if (!definition.channels.includes(input.channel)) reasons.push({ code: 'channel-not-allowed', detail: `${input.purpose} may use ${definition.channels.join(', ') || 'no channel'}` });

    const { allowed, state } = await consent.checkConsent(subjectId, input.purpose, { channel: input.channel, topic: input.topic });
    if (!allowed && state) {
      if (state.status !== 'active') reasons.push({ code: state.status === 'withdrawn' ? 'opted-out' : 'no-consent', detail: `consent for ${input.purpose} is ${state.status}` });
      else if (!state.channels.includes(input.channel)) reasons.push({ code: 'opted-out', detail: `the person opted out of ${input.channel} for ${input.purpose}` });
      else reasons.push({ code: 'topic-opted-out', detail: `the person opted out of the topic ${input.topic}` });
    }

    const identifier = CHANNEL_IDENTIFIER[input.channel];
    const details = await subjects.contactDetails(subjectId, identifier ?? 'phone');
    if (policy.doNotCall.channels.includes(input.channel) && !policy.doNotCall.exemptPurposes.includes(input.purpose) && identifier === 'phone' && details?.value) {
      const listed = await store.dncMatches(db, await subjects.digestsOf('phone', details.value));
      if (listed.length > 0) reasons.push({ code: 'do-not-call', detail: `the number is on the do-not-call list (${[...new Set(listed.map((l) => l.source))].join(', ')})` });
    }

    const window = policy.quietHours[input.channel];
    if (window) {
      const timezone = details?.timezone ?? policy.defaults.timezone;
      const quiet = quietHoursAt(now, timezone, window);
      if (quiet.quiet) {
        reasons.push({ code: 'quiet-hours', detail: `${window.start}-${window.end} in ${timezone}` });
        until.push(quiet.until);
      }
    }
    return { reasons, until };
  }

  /**
   * Decides one contact. An allow reserves a slot against every frequency cap
   * that applies, counted across all apps, agents and regions, in the same
   * transaction that counted the slots in use, under the subject's lock: N
   * concurrent requests can never allow more than the cap.
   */
  async function authorize(ctx: RequestContext, caller: ContactCaller, input: { ref: string; channel: string; purpose: string; topic?: string }, idempotencyKey?: string): Promise<AuthorizeAnswer> {
    const action = 'contacts.authorize';
    if (idempotencyKey) {
      const previous = await store.findIdempotent(db.read, caller.clientId, idempotencyKey);
      if (previous) return JSON.parse(previous) as AuthorizeAnswer;
    }
    const problems: Array<{ field: string; reason: string }> = [];
    const definition = policy.purposes[input.purpose];
    if (!definition) problems.push({ field: 'purpose', reason: 'unknown-purpose' });
    if (!policy.channels.includes(input.channel)) problems.push({ field: 'channel', reason: 'unknown-channel' });
    if (definition && input.topic !== undefined && !definition.topics.includes(input.topic)) problems.push({ field: 'topic', reason: `not a topic of ${input.purpose}` });
    if (problems.length > 0) {
      return refuse(ctx, { action, purpose: input.purpose, reason: 'invalid-request' }, new PolicyViolation(problems.map((p) => `${p.field}: ${p.reason}`).join('; '), problems));
    }
    const subjectId = await subjects.subjectOfRef(caller.clientId, input.ref);
    if (!subjectId) return refuse(ctx, { action, purpose: input.purpose, reason: 'unknown-ref' }, new NotFound('no subject with this ref'));

    const now = new Date();
    const standing = await standingReasons(caller, subjectId, input, now);
    return db.transaction(async (tx) => {
      await store.lockSubjectContacts(tx, db.kind, subjectId);
      if (idempotencyKey) {
        const previous = await store.findIdempotent(tx, caller.clientId, idempotencyKey);
        if (previous) return JSON.parse(previous) as AuthorizeAnswer;
      }
      const reasons = [...standing.reasons];
      const until = [...standing.until];
      for (const limit of policy.limits) {
        if (limit.channel !== input.channel || (limit.purposes && !limit.purposes.includes(input.purpose))) continue;
        const per = parseDuration(limit.per)!;
        const held = (await store.reservationsSince(tx, subjectId, limit.channel, subtractDuration(now, per))).filter((r) => !limit.purposes || limit.purposes.includes(r.purpose));
        if (held.length >= limit.max) {
          reasons.push({ code: 'frequency-cap', detail: `at most ${limit.max} per ${limit.per} on ${limit.channel}${limit.purposes ? ` for ${limit.purposes.join(', ')}` : ''}` });
          // A slot frees when the oldest contacts that fill the cap leave the window.
          until.push(addDuration(held[held.length - limit.max]!.reservedAt, per));
        }
      }
      let answer: AuthorizeAnswer;
      if (reasons.length > 0) {
        const onlyWaiting = reasons.every((r) => r.code === 'quiet-hours' || r.code === 'frequency-cap');
        const retryAfter = onlyWaiting && until.length > 0 ? new Date(Math.max(...until.map((d) => d.getTime()))).toISOString() : undefined;
        answer = { decision: 'deny', reasons, ...(retryAfter ? { retryAfter } : {}) };
        await appendAuditEvent(tx, ctx, { action, decision: 'deny', subject: subjectId, purpose: input.purpose, reasons: reasons.map((r) => ({ code: r.code, detail: r.detail })) });
      } else {
        const ticket = `tkt_${randomBytes(18).toString('base64url')}`;
        const expiresAt = new Date(now.getTime() + TICKET_TTL_MS);
        await store.insertReservation(tx, { ticket, subjectId, appId: caller.clientId, channel: input.channel, purpose: input.purpose, topic: input.topic ?? null, status: 'reserved', reservedAt: now, expiresAt, revealedAt: null, outcomeAt: null });
        answer = { decision: 'allow', ticket, expiresAt: expiresAt.toISOString() };
        await appendAuditEvent(tx, ctx, { action, decision: 'allow', subject: subjectId, purpose: input.purpose, reasons: [{ code: 'channel', detail: input.channel }, ...(input.topic ? [{ code: 'topic', detail: input.topic }] : [])] });
      }
      if (idempotencyKey) await store.saveIdempotent(tx, caller.clientId, idempotencyKey, JSON.stringify(answer), now);
      return answer;
    });
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
    if (!recorded) return refuse(ctx, { action, subject: row.subjectId, purpose: row.purpose, reason: 'outcome-recorded' }, new Conflict(`the outcome of this ticket is already recorded (${row.status})`));
    return { ticket, status: stored };
  }

  function normalizedPhone(raw: string): string {
    const result = subjects.normalize('phone', raw);
    if ('problem' in result) throw new InvalidIdentifier([{ path: 'phone', message: result.problem }]);
    return result.value;
  }

  async function addSuppression(ctx: RequestContext, input: { phone: string; note?: string }): Promise<{ id: string }> {
    const key = await subjects.currentDigest('phone', normalizedPhone(input.phone));
    const id = `dnc_${randomUUID()}`;
    await db.transaction(async (tx) => {
      await store.ensureInternalSource(tx, new Date());
      await store.insertDncEntry(tx, { id, source: DNC_INTERNAL_SOURCE, importId: store.INTERNAL_IMPORT, keyVersion: key.keyVersion, digest: key.digest, note: input.note ?? null, createdAt: new Date() });
      await appendAuditEvent(tx, ctx, { action: 'dnc.entry.add', decision: 'info', reasons: [{ code: 'entry', detail: id }] });
    });
    return { id };
  }

  async function removeSuppression(ctx: RequestContext, id: string): Promise<void> {
    const removed = await db.transaction(async (tx) => {
      const done = await store.deleteDncEntry(tx, id, DNC_INTERNAL_SOURCE);
      if (done) await appendAuditEvent(tx, ctx, { action: 'dnc.entry.remove', decision: 'info', reasons: [{ code: 'entry', detail: id }] });
      return done;
    });
    if (!removed) throw new NotFound('no internal suppression entry with this id');
  }

  async function checkNumber(ctx: RequestContext, phone: string): Promise<{ listed: boolean; sources: string[] }> {
    const matches = await store.dncMatches(db, await subjects.digestsOf('phone', normalizedPhone(phone)));
    const sources = [...new Set(matches.map((m) => m.source))];
    await audit.record(ctx, { action: 'dnc.check', decision: 'info', reasons: [{ code: sources.length > 0 ? 'listed' : 'not-listed' }] });
    return { listed: sources.length > 0, sources };
  }

  return { authorize, reveal, outcome, addSuppression, removeSuppression, checkNumber };
}

export type ContactService = ReturnType<typeof createContactService>;
