import type { RequestContext } from '../../shared/request-context.ts';
import type { AuditEventInput } from '../audit/schema.ts';
import { appendAuditEvents } from '../audit/service.ts';
import { CHANNEL_IDENTIFIER, validateRequest, type ContactCaller, type Contacts } from './contacts.ts';
import { capHorizon, doNotCallApplies, evaluateContact, type ContactFacts, type ContactRequest } from './rules.ts';
import * as store from './store.ts';

// Refs decided (and audited, in one transaction) at a time by a scrub or a suppression list.
export const SCRUB_PART = 1000;

/** One ref's answer in a bulk decision: no reasons means it may be contacted. */
export type BulkDecision = { ref: string; reasons: Array<{ code: string; detail: string }>; value: string | null };

/**
 * Decides a part of a bulk list (at most SCRUB_PART refs) with the same rules
 * as authorize but without reserving slots: bulk reads, and one audit event
 * per subject decision, appended in one transaction. Unknown refs and other
 * apps' refs are denied alike (and not audited: no subject is known). `value`
 * is the identifier's value when `withValue` (a suppression list of hashes).
 */
export async function decidePart(
  c: Contacts,
  ctx: RequestContext,
  caller: ContactCaller,
  input: ContactRequest,
  part: string[],
  action: string,
  now: Date,
  options: { withValue?: boolean } = {},
): Promise<BulkDecision[]> {
  const { db, policy, subjects, consent, doNotCall } = c;
  const phone = CHANNEL_IDENTIFIER[input.channel] === 'phone';
  const checkList = phone && doNotCallApplies(policy, input);
  const since = capHorizon(policy, input, now);
  // The number is decrypted only when a list could block the contact, or the caller asked for it.
  const details = await subjects.contactDetailsByRefs(caller.clientId, part, checkList || (phone && options.withValue) ? 'phone' : undefined);
  const subjectIds = [...new Set([...details.values()].map((d) => d.subjectId))];
  const consents = await consent.checkConsentMany(subjectIds, input.purpose, { channel: input.channel, topic: input.topic, recipient: input.recipient });
  const dnc = checkList ? await doNotCall.matches([...details.values()].flatMap((d) => d.digests)) : new Map<string, string[]>();
  const held = await store.reservationsSinceMany(db, subjectIds, input.channel, since, now);

  const events: AuditEventInput[] = [];
  const decisions: BulkDecision[] = [];
  for (const ref of part) {
    const d = details.get(ref);
    if (!d) {
      decisions.push({ ref, reasons: [{ code: 'unknown-ref', detail: 'no subject with this ref' }], value: null });
      continue;
    }
    const facts: ContactFacts = {
      appPurposes: caller.purposes,
      consent: consents.get(d.subjectId)!,
      doNotCallSources: checkList ? d.digests.flatMap((digest) => dnc.get(digest) ?? []) : [],
      timezone: d.timezone,
      held: held.get(d.subjectId) ?? [],
    };
    const { reasons } = evaluateContact(policy, input, facts, now);
    decisions.push({ ref, reasons, value: options.withValue ? d.value : null });
    events.push({ action, decision: reasons.length === 0 ? 'allow' : 'deny', subject: d.subjectId, purpose: input.purpose, reasons: reasons.map((r) => ({ code: r.code })) });
  }
  await db.transaction((tx) => appendAuditEvents(tx, ctx, events));
  return decisions;
}

/** A whole campaign list at once (decidePart over parts of it). */
export async function scrub(
  c: Contacts,
  ctx: RequestContext,
  caller: ContactCaller,
  input: ContactRequest & { refs: string[] },
): Promise<{ allowed: string[]; denied: Array<{ ref: string; reasons: Array<{ code: string; detail: string }> }> }> {
  const action = 'contacts.scrub';
  await validateRequest(c, ctx, input, action);
  const now = new Date();
  const refs = [...new Set(input.refs)];
  const allowed: string[] = [];
  const denied: Array<{ ref: string; reasons: Array<{ code: string; detail: string }> }> = [];
  // In parts: memory stays bounded by a part, and other requests are served between parts.
  for (let i = 0; i < refs.length; i += SCRUB_PART) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const { ref, reasons } of await decidePart(c, ctx, caller, input, refs.slice(i, i + SCRUB_PART), action, now)) {
      if (reasons.length === 0) allowed.push(ref);
      else denied.push({ ref, reasons });
    }
  }
  return { allowed, denied };
}
