import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { IdempotencyKeyReused, NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { AuditEventInput } from '../audit/schema.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { validateRequest, type AuthorizeAnswer, type ContactCaller, type Contacts } from './contacts.ts';
import { capHorizon, evaluateContact, type ContactFacts, type ContactRequest } from './rules.ts';
import * as store from './store.ts';

const TICKET_TTL_MS = 15 * 60 * 1000;

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
export async function authorize(c: Contacts, ctx: RequestContext, caller: ContactCaller, input: { ref: string } & ContactRequest, idempotencyKey?: string): Promise<AuthorizeAnswer> {
  const { db, policy, audit, subjects, consent, doNotCall, reservations, cappedRunning, refuse, listedField } = c;
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
  await validateRequest(c, ctx, input, action);
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
      // slots are still those counted. A contact with nothing to check shares the group commit (audit.record decides).
      const held = slotsRead?.held(now) ?? [];
      const decision = decide([], held);
      if (decision.reservation) {
        const rows = store.reservationRows([decision.reservation]);
        const guards = [
          ...(details.value ? doNotCall.unlistedGuards(details.value) : []),
          ...(slotsRead ? [store.claimSlot(db.adapter, subjectId, input.channel, slotsFrom, slotsRead.seen, decision.reservation.ticket)] : []),
        ];
        if (await audit.record(ctx, decision.event, rows, guards)) return decision.answer;
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
