import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import { authorize } from './authorize.ts';
import { importPastContacts, pastContactProblems, type PastContact } from './import-contacts.ts';
import { createContacts, type ContactCaller, type ContactServiceDeps } from './contacts.ts';
import type { ContactRequest } from './rules.ts';
import { scrub } from './scrub.ts';
import { suppressions, type SuppressionFormat } from './suppressions.ts';
import * as store from './store.ts';
import { outcome, reveal } from './tickets.ts';

export type { PastContact } from './import-contacts.ts';
export { CHANNEL_IDENTIFIER, type AuthorizeAnswer, type ContactCaller, type ContactServiceDeps } from './contacts.ts';

/** Contact authorization, one operation a file (authorize, scrub, tickets), wired here; the rules are one pure function (rules.ts). */
export function createContactService(deps: ContactServiceDeps) {
  const c = createContacts(deps);
  const { db } = deps;
  return {
    authorize: (ctx: RequestContext, caller: ContactCaller, input: { ref: string } & ContactRequest, idempotencyKey?: string) => authorize(c, ctx, caller, input, idempotencyKey),
    scrub: (ctx: RequestContext, caller: ContactCaller, input: ContactRequest & { refs: string[] }) => scrub(c, ctx, caller, input),
    suppressions: (ctx: RequestContext, caller: ContactCaller & { reveal: readonly string[] }, input: ContactRequest & { format: SuppressionFormat }) => suppressions(c, ctx, caller, input),
    reveal: (ctx: RequestContext, caller: ContactCaller, ticket: string) => reveal(c, ctx, caller, ticket),
    outcome: (ctx: RequestContext, caller: ContactCaller, ticket: string, status: 'sent' | 'failed' | 'not-sent') => outcome(c, ctx, caller, ticket, status),
    /** The contacts made with a subject, as a person's access export shows them. */
    async contactsOfSubject(subjectId: string) {
      return (await store.reservationsOf(db.read, subjectId)).map((r) => ({
        appId: r.appId,
        channel: r.channel,
        purpose: r.purpose,
        topic: r.topic,
        at: r.reservedAt,
        revealed: r.revealedAt !== null,
        outcome: r.status,
      }));
    },
    /** The lock every capped decision of a subject takes first; an erasure (and an import) takes it before it holds the subject. Sorted ids: one statement, in that order. */
    lockSubjects: (tx: Tx, subjectIds: string[]) => store.lockSubjectContacts(tx, subjectIds),
    lastReservationPerPurpose: (subjectIds: string[]) => store.lastReservationPerPurpose(db.read, subjectIds),
    // For imports (the imports module): past contacts checked before a row is written, then counted against the caps.
    pastContactProblems: (caller: { purposes: readonly string[] }, contacts: PastContact[], now: Date) => pastContactProblems(c, caller, contacts, now),
    importPastContacts: (tx: Tx, subject: { id: string; isNew: boolean }, appId: string, contacts: PastContact[], now: Date) => importPastContacts(c, tx, subject, appId, contacts, now),
  };
}

export type ContactService = ReturnType<typeof createContactService>;
