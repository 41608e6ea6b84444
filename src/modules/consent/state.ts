import type { PurposeDefinition } from '../policies/schema.ts';
import type { ConsentHistoryEntry, ConsentState } from './schema.ts';

/** One row of the ledger, as the fold reads it. `null` scope means "all" (grant) or "the whole purpose" (withdraw). */
export interface LedgerEntry {
  seq: number;
  purpose: string;
  kind: 'grant' | 'withdraw';
  channels: string[] | null;
  topics: string[] | null;
  recipients: string[] | null;
  source: string;
  noticeVersion: string | null;
  expiresAt: Date | null;
  gpc: boolean;
  receiptId: string | null;
  at: Date;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function emptyConsent(purpose: string): ConsentState {
  return {
    purpose,
    status: 'none',
    channels: [],
    topics: [],
    withdrawnChannels: [],
    withdrawnTopics: [],
    recipients: [],
    withdrawnRecipients: [],
    source: null,
    noticeVersion: null,
    grantedAt: null,
    expiresAt: null,
    changedAt: null,
  };
}

/**
 * One ledger entry applied to the consent it follows. The state kept beside
 * the ledger is exactly this step applied entry by entry (a grant or
 * withdrawal reads and writes one row, whatever the ledger's length); a
 * property test checks it against the fold of the whole ledger.
 */
export function applyEntry(definition: PurposeDefinition, state: ConsentState, e: LedgerEntry): ConsentState {
  const purpose = state.purpose;
  if (e.kind === 'grant') {
    return {
      purpose,
      status: 'active',
      channels: e.channels ?? [...definition.channels],
      topics: e.topics ?? [...definition.topics],
      withdrawnChannels: [],
      withdrawnTopics: [],
      recipients: e.recipients ?? [],
      withdrawnRecipients: [],
      source: e.source,
      noticeVersion: e.noticeVersion,
      grantedAt: e.at.toISOString(),
      expiresAt: iso(e.expiresAt),
      changedAt: e.at.toISOString(),
    };
  }
  if (state.status !== 'active') return state; // withdrawing nothing changes nothing
  if (state.expiresAt && new Date(state.expiresAt).getTime() <= e.at.getTime()) {
    return { ...state, status: 'withdrawn', channels: [], topics: [], changedAt: e.at.toISOString() };
  }
  const whole = e.channels === null && e.topics === null && e.recipients === null;
  const channels = e.channels ? state.channels.filter((c) => !e.channels!.includes(c)) : state.channels;
  const topics = e.topics ? state.topics.filter((t) => !e.topics!.includes(t)) : state.topics;
  // Withdrawing every channel, or every topic of a purpose that has topics, withdraws the purpose.
  const nothingLeft = (channels.length === 0 && definition.channels.length > 0) || (topics.length === 0 && definition.topics.length > 0);
  const withdrawnChannels = [...new Set([...state.withdrawnChannels, ...state.channels.filter((c) => !channels.includes(c))])];
  const withdrawnTopics = [...new Set([...state.withdrawnTopics, ...state.topics.filter((t) => !topics.includes(t))])];
  // A consent narrowed to recipients loses them from its list; one for every recipient keeps a list of exceptions.
  const recipients = e.recipients && state.recipients.length > 0 ? state.recipients.filter((r) => !e.recipients!.includes(r)) : state.recipients;
  const withdrawnRecipients = [...new Set([...state.withdrawnRecipients, ...(e.recipients ?? [])])];
  const noRecipientLeft = state.recipients.length > 0 && recipients.length === 0;
  return whole || nothingLeft || noRecipientLeft
    ? { ...state, status: 'withdrawn', channels: [], topics: [], changedAt: e.at.toISOString() }
    : { ...state, channels, topics, recipients, withdrawnChannels, withdrawnTopics, withdrawnRecipients, changedAt: e.at.toISOString() };
}

/** The consent as of `now`: an active grant past its expiry counts as expired (no job needed). */
export function consentAt(state: ConsentState, now: Date): ConsentState {
  return state.status === 'active' && state.expiresAt && new Date(state.expiresAt).getTime() <= now.getTime() ? { ...state, status: 'expired' } : state;
}

/**
 * The current consent for one purpose, computed from its ledger entries in
 * order. Nothing is stored as "current" that the ledger does not determine:
 * a withdrawal is visible to the next request on every replica, and expiry
 * needs no job (a grant past its expiresAt simply no longer counts).
 */
export function foldConsent(purpose: string, definition: PurposeDefinition, entries: LedgerEntry[], now: Date): ConsentState {
  return consentAt(
    entries.filter((e) => e.purpose === purpose).reduce((state, e) => applyEntry(definition, state, e), emptyConsent(purpose)),
    now,
  );
}

/** The part of a use a consent must cover; each optional. */
export interface ConsentScope {
  channel?: string;
  topic?: string;
  /** The brand or partner the use is for; none means the organisation itself. */
  recipient?: string;
}

/**
 * Whether a consent state allows use on this channel, topic and recipient. A
 * consent narrowed to recipients covers only uses that name one of them; a
 * consent for every recipient covers all but those the person took back.
 */
export function consentCovers(state: ConsentState, scope: ConsentScope): boolean {
  if (state.status !== 'active') return false;
  if (scope.channel !== undefined && !state.channels.includes(scope.channel)) return false;
  if (scope.topic !== undefined && !state.topics.includes(scope.topic)) return false;
  return recipientCovered(state, scope.recipient);
}

export function recipientCovered(state: ConsentState, recipient: string | undefined): boolean {
  if (recipient !== undefined && state.withdrawnRecipients.includes(recipient)) return false;
  if (state.recipients.length === 0) return true;
  return recipient !== undefined && state.recipients.includes(recipient);
}

/**
 * History for people: a grant while a consent is active is shown as "narrow"
 * (or widen), and a grant that lapsed before anything else happened gets an
 * "expire" entry at its expiry time.
 */
export function describeHistory(entries: LedgerEntry[], now: Date): ConsentHistoryEntry[] {
  const out: ConsentHistoryEntry[] = [];
  const lastGrant = new Map<string, LedgerEntry | undefined>();
  const expireEntry = (grant: LedgerEntry): ConsentHistoryEntry => ({
    seq: grant.seq,
    purpose: grant.purpose,
    kind: 'expire',
    channels: null,
    topics: null,
    recipients: null,
    source: 'expiry',
    noticeVersion: grant.noticeVersion,
    expiresAt: iso(grant.expiresAt),
    gpc: false,
    receiptId: null,
    at: grant.expiresAt!.toISOString(),
  });
  const lapsedBefore = (grant: LedgerEntry | undefined, instant: Date) => grant?.expiresAt && grant.expiresAt.getTime() <= instant.getTime();
  for (const e of entries) {
    const previous = lastGrant.get(e.purpose);
    if (lapsedBefore(previous, e.at)) out.push(expireEntry(previous!));
    const active = previous !== undefined && !lapsedBefore(previous, e.at);
    out.push({
      seq: e.seq,
      purpose: e.purpose,
      kind: e.kind === 'grant' ? (active ? 'narrow' : 'grant') : 'withdraw',
      channels: e.channels,
      topics: e.topics,
      recipients: e.recipients,
      source: e.source,
      noticeVersion: e.noticeVersion,
      expiresAt: iso(e.expiresAt),
      gpc: e.gpc,
      receiptId: e.receiptId,
      at: e.at.toISOString(),
    });
    // A partial withdrawal leaves the consent (and its expiry) in force.
    lastGrant.set(e.purpose, e.kind === 'grant' ? e : e.channels === null && e.topics === null ? undefined : previous);
  }
  for (const grant of lastGrant.values()) if (lapsedBefore(grant, now)) out.push(expireEntry(grant!));
  return out;
}
