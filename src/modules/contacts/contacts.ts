import type { RequestContext } from '../../shared/request-context.ts';
import { PolicyViolation } from '../../shared/errors.ts';
import type { Database } from '../../storage/database.ts';
import { createTransactionGroups } from '../../storage/grouped-transactions.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { ConsentService } from '../consent/service.ts';
import type { DoNotCall } from '../dnc/service.ts';
import type { Policy } from '../policies/schema.ts';
import type { SubjectService } from '../subjects/service.ts';
import { doNotCallApplies, longestCapWindow, type ContactRequest, type DenyReason } from './rules.ts';
import * as store from './store.ts';

export interface ContactCaller {
  clientId: string;
  purposes: readonly string[];
  reveal: readonly string[];
}

export type AuthorizeAnswer = { decision: 'allow'; ticket: string; expiresAt: string } | { decision: 'deny'; reasons: DenyReason[]; retryAfter?: string };

/** Which identifier a channel reaches a person on. */
export const CHANNEL_IDENTIFIER: Record<string, string> = { call: 'phone', sms: 'phone', email: 'email' };
const PREFETCH_SLACK_MS = 60_000;

export interface ContactServiceDeps {
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  subjects: SubjectService;
  consent: ConsentService;
  /** The do-not-call module answers which lists hold a number; contacts never reads its tables. */
  doNotCall: DoNotCall;
}

/**
 * What the contact operations share (one operation a file: authorize.ts,
 * scrub.ts, tickets.ts): their dependencies, the grouped transactions of
 * capped decisions, and which refs this process is deciding right now.
 */
export interface Contacts extends ContactServiceDeps {
  reservations: ReturnType<typeof createTransactionGroups>;
  /** Refs with a capped authorization running in this process, and how many. */
  cappedRunning: Map<string, number>;
  refuse(ctx: RequestContext, event: { action: string; subject?: string; purpose?: string; reason: string }, error: Error): Promise<never>;
  /** The field to decrypt for a contact: the number, only when a do-not-call list could block it. */
  listedField(input: ContactRequest): 'phone' | undefined;
}

export function createContacts(deps: ContactServiceDeps): Contacts {
  const { db, policy, audit } = deps;
  return {
    ...deps,
    // Capped authorizations share transactions; each subject's lock is taken before any decision in the group.
    // Once locked, a group reads the held slots of all its subjects in one statement, from a minute before the
    // longest cap window (requests decided in the group were received just before it started).
    reservations: createTransactionGroups(db, {
      maxGroup: 200,
      lock: async (tx, subjectIds) => {
        await store.lockSubjectContacts(tx, subjectIds);
        const start = new Date(Date.now() - PREFETCH_SLACK_MS);
        const from = longestCapWindow(policy, start);
        if (from < start) await store.loadHeldSlots(tx, subjectIds, from);
      },
    }),
    cappedRunning: new Map(),
    refuse: (ctx, event, error) => audit.refuse(ctx, { action: event.action, subject: event.subject, purpose: event.purpose, reasons: [{ code: event.reason }] }, error),
    listedField: (input) => (CHANNEL_IDENTIFIER[input.channel] === 'phone' && doNotCallApplies(policy, input) ? 'phone' : undefined),
  };
}

export async function validateRequest(c: Contacts, ctx: RequestContext, input: ContactRequest, action: string): Promise<void> {
  const { refuse, policy } = c;
  const problems: Array<{ field: string; reason: string }> = [];
  const definition = policy.purposes[input.purpose];
  if (!definition) problems.push({ field: 'purpose', reason: 'unknown-purpose' });
  if (!policy.channels.includes(input.channel)) problems.push({ field: 'channel', reason: 'unknown-channel' });
  if (definition && input.topic !== undefined && !definition.topics.includes(input.topic)) problems.push({ field: 'topic', reason: `not a topic of ${input.purpose}` });
  // Recipients are names the policy declares, like topics: caller text never reaches the trail or the ledger.
  if (definition && input.recipient !== undefined && !definition.recipients.includes(input.recipient)) {
    problems.push({ field: 'recipient', reason: `not a recipient of ${input.purpose} (${definition.recipients.join(', ') || 'the policy declares none'})` });
  }
  if (problems.length > 0) {
    await refuse(ctx, { action, purpose: input.purpose, reason: 'invalid-request' }, new PolicyViolation(problems.map((p) => `${p.field}: ${p.reason}`).join('; '), problems));
  }
}
