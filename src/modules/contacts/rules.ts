import type { ConsentState } from '../consent/schema.ts';
import { recipientCovered } from '../consent/state.ts';
import { addDuration, parseDuration, subtractDuration } from '../policies/duration.ts';
import type { Policy } from '../policies/schema.ts';
import { quietHoursAt } from './quiet-hours.ts';

/** Every reason the contact rules can give (the API's deny codes). */
export const DENY_CODES = [
  'purpose-not-granted',
  'channel-not-allowed',
  'no-consent',
  'consent-expired',
  'opted-out',
  'topic-opted-out',
  'outside-consent-scope',
  'recipient-not-consented',
  'do-not-call',
  'frequency-cap',
  'quiet-hours',
] as const;

export interface DenyReason {
  code: (typeof DENY_CODES)[number];
  detail: string;
}

export interface ContactRequest {
  channel: string;
  purpose: string;
  topic?: string;
  /** The brand or partner the contact is for; none means the organisation itself. */
  recipient?: string;
}

/** Everything the rules need to know about one subject, fetched by the caller (one subject or a whole campaign). */
export interface ContactFacts {
  appPurposes: readonly string[];
  consent: { allowed: boolean; state: ConsentState | null };
  doNotCallSources: string[];
  timezone: string | null;
  /** Slots held on the request's channel, oldest first, within the longest window that applies. */
  held: Array<{ purpose: string; reservedAt: Date }>;
}

/** Where the longest of these caps' windows starts; `now` when there are none. */
function earliestWindowStart(limits: Policy['limits'], now: Date): Date {
  let earliest = now;
  for (const limit of limits) {
    const since = subtractDuration(now, parseDuration(limit.per)!);
    if (since < earliest) earliest = since;
  }
  return earliest;
}

/** The longest cap window for this channel and purpose: how far back the held slots must be read. */
export function capHorizon(policy: Policy, request: ContactRequest, now: Date): Date {
  return earliestWindowStart(applicableLimits(policy, request), now);
}

/** The longest window of any cap in the policy: how far back a group reads its subjects' held slots (`now`: no caps). */
export function longestCapWindow(policy: Policy, now: Date): Date {
  return earliestWindowStart(policy.limits, now);
}

function applicableLimits(policy: Policy, request: ContactRequest) {
  return policy.limits.filter((l) => l.channel === request.channel && (!l.purposes || l.purposes.includes(request.purpose)));
}

/** Whether do-not-call lists can block this contact: a listed channel, a purpose not exempt. */
export function doNotCallApplies(policy: Policy, request: ContactRequest): boolean {
  return policy.doNotCall.channels.includes(request.channel) && !policy.doNotCall.exemptPurposes.includes(request.purpose);
}

/**
 * Why a consent does not cover this contact, in the person's terms: never
 * given, lapsed, taken back (the whole purpose, a channel, a topic), or given
 * for a narrower scope than asked. A channel the purpose cannot use at all is
 * the purpose's reason (channel-not-allowed), not the consent's.
 */
function consentReasons(state: ConsentState, request: ContactRequest, channelOfPurpose: boolean): DenyReason[] {
  const purpose = request.purpose;
  if (state.status === 'none') return [{ code: 'no-consent', detail: `the person never consented to ${purpose}` }];
  if (state.status === 'expired') return [{ code: 'consent-expired', detail: `the consent to ${purpose} expired at ${state.expiresAt}` }];
  if (state.status === 'withdrawn') return [{ code: 'opted-out', detail: `the person withdrew consent to ${purpose}` }];
  const out: DenyReason[] = [];
  if (channelOfPurpose && !state.channels.includes(request.channel)) {
    out.push(
      state.withdrawnChannels.includes(request.channel)
        ? { code: 'opted-out', detail: `the person opted out of ${request.channel} for ${purpose}` }
        : { code: 'outside-consent-scope', detail: `the consent to ${purpose} covers ${state.channels.join(', ')} only, not ${request.channel}` },
    );
  }
  if (request.topic !== undefined && !state.topics.includes(request.topic)) {
    out.push(
      state.withdrawnTopics.includes(request.topic)
        ? { code: 'topic-opted-out', detail: `the person opted out of the topic ${request.topic}` }
        : { code: 'outside-consent-scope', detail: `the consent to ${purpose} covers the topics ${state.topics.join(', ')} only, not ${request.topic}` },
    );
  }
  if (!recipientCovered(state, request.recipient)) {
    const detail =
      request.recipient !== undefined && state.withdrawnRecipients.includes(request.recipient)
        ? `the person withdrew consent to ${purpose} from ${request.recipient}`
        : request.recipient === undefined
          ? `the consent to ${purpose} covers only ${state.recipients.join(', ')}; name the recipient the contact is for`
          : `the consent to ${purpose} covers ${state.recipients.join(', ')} only, not ${request.recipient}`;
    out.push({ code: 'recipient-not-consented', detail });
  }
  return out;
}

/**
 * The contact rules, all of them, as one pure function: every failing check is
 * reported. `retryAfter` is set only when waiting can help (quiet hours and
 * caps), at the time every such obstacle has passed.
 */
export function evaluateContact(policy: Policy, request: ContactRequest, facts: ContactFacts, now: Date): { reasons: DenyReason[]; retryAfter?: Date } {
  const definition = policy.purposes[request.purpose]!;
  const reasons: DenyReason[] = [];
  const until: Date[] = [];
  if (!facts.appPurposes.includes(request.purpose)) reasons.push({ code: 'purpose-not-granted', detail: `this app is not granted ${request.purpose}` });
  if (!definition.channels.includes(request.channel)) reasons.push({ code: 'channel-not-allowed', detail: `${request.purpose} may use ${definition.channels.join(', ') || 'no channel'}` });

  const { allowed, state } = facts.consent;
  if (!allowed && state) reasons.push(...consentReasons(state, request, definition.channels.includes(request.channel)));

  if (doNotCallApplies(policy, request) && facts.doNotCallSources.length > 0)
    reasons.push({ code: 'do-not-call', detail: `the number is on the do-not-call list (${[...new Set(facts.doNotCallSources)].join(', ')})` });

  const window = policy.quietHours[request.channel];
  if (window) {
    const timezone = facts.timezone ?? policy.defaults.timezone;
    const quiet = quietHoursAt(now, timezone, window);
    if (quiet.quiet) {
      reasons.push({ code: 'quiet-hours', detail: `${window.start}-${window.end} in ${timezone}` });
      until.push(quiet.until);
    }
  }

  for (const limit of applicableLimits(policy, request)) {
    const per = parseDuration(limit.per)!;
    const since = subtractDuration(now, per);
    const held = facts.held.filter((r) => r.reservedAt > since && (!limit.purposes || limit.purposes.includes(r.purpose)));
    if (held.length >= limit.max) {
      reasons.push({ code: 'frequency-cap', detail: `at most ${limit.max} per ${limit.per} on ${limit.channel}${limit.purposes ? ` for ${limit.purposes.join(', ')}` : ''}` });
      // A slot frees when the oldest contacts that fill the cap leave the window.
      until.push(addDuration(held[held.length - limit.max]!.reservedAt, per));
    }
  }
  const onlyWaiting = reasons.length > 0 && reasons.every((r) => r.code === 'quiet-hours' || r.code === 'frequency-cap');
  return { reasons, ...(onlyWaiting && until.length > 0 ? { retryAfter: new Date(Math.max(...until.map((d) => d.getTime()))) } : {}) };
}
