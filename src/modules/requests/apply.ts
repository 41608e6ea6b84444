import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import type { AuditSearch } from '../audit/search.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { ConsentService } from '../consent/service.ts';
import type { ContactService } from '../contacts/service.ts';
import type { DoNotCall } from '../dnc/service.ts';
import type { Policy } from '../policies/schema.ts';
import type { AttributeValue } from '../subjects/schema.ts';
import type { SubjectService } from '../subjects/service.ts';
import { buildExport } from './export.ts';
import type { RequestScope } from './schema.ts';

export interface RequestActionDeps {
  db: Database;
  policy: Policy;
  subjects: SubjectService;
  consent: ConsentService;
  contacts: ContactService;
  doNotCall: DoNotCall;
  auditSearch: AuditSearch;
  /** App names by client id (the auth module), for people reading their export. */
  appNames: () => Promise<Map<string, string>>;
}

/**
 * What a verified or approved request does, through each module's own
 * operations: the requests module never touches another module's tables.
 */
export function createRequestActions(deps: RequestActionDeps) {
  const { db, policy, subjects, consent, contacts, doNotCall } = deps;
  const consentPurposes = Object.entries(policy.purposes)
    .filter(([, p]) => p.basis === 'consent')
    .map(([name]) => name);
  const salePurposes = Object.entries(policy.purposes)
    .filter(([, p]) => p.sale && p.basis === 'consent')
    .map(([name]) => name);

  /** The phone numbers an opt-out or an erasure concerns: the verified one and those the subjects hold. */
  async function phonesOf(subjectIds: string[], identifier: { kind: string; value?: string | null }): Promise<string[]> {
    const phones = new Set<string>();
    if (identifier.kind === 'phone' && identifier.value) phones.add(identifier.value);
    for (const id of subjectIds) {
      const phone = (await subjects.contactDetails(id, 'phone'))?.value;
      if (phone) phones.add(phone);
    }
    return [...phones];
  }

  /**
   * The consent entries an opt-out scope asks for, per purpose: narrowed to
   * the named channels and topics the purpose has; a purpose none of whose
   * channels or topics are named is left alone.
   */
  function withdrawalsFor(scope: RequestScope): Array<{ purpose: string; channels?: string[]; topics?: string[] }> {
    const out: Array<{ purpose: string; channels?: string[]; topics?: string[] }> = [];
    for (const purpose of scope.purposes ?? consentPurposes) {
      const definition = policy.purposes[purpose]!;
      const channels = scope.channels?.filter((c) => definition.channels.includes(c));
      const topics = scope.topics?.filter((t) => definition.topics.includes(t));
      if ((channels === undefined || channels.length === 0) && (topics === undefined || topics.length === 0) && (scope.channels || scope.topics)) continue;
      out.push({ purpose, ...(channels && channels.length > 0 ? { channels } : {}), ...(topics && topics.length > 0 ? { topics } : {}) });
    }
    return out;
  }

  /** Calls and SMS are in an opt-out's scope when it names no topic and either no channel or a do-not-call channel. */
  function coversDoNotCall(scope: RequestScope): boolean {
    if (scope.topics || policy.doNotCall.channels.length === 0) return false;
    return !scope.channels || scope.channels.some((c) => policy.doNotCall.channels.includes(c));
  }

  return {
    subjectsOf: (kind: string, normalized: string) => subjects.subjectsWithIdentifier(kind, normalized),

    async applyGpc(ctx: RequestContext, subjectIds: string[]): Promise<number> {
      let withdrawn = 0;
      for (const id of subjectIds)
        withdrawn += (
          await consent.withdrawForSubject(
            ctx,
            id,
            salePurposes.map((purpose) => ({ purpose })),
            'gpc',
          )
        ).length;
      return withdrawn;
    },

    async applyOptOut(ctx: RequestContext, subjectIds: string[], identifier: { kind: string; value?: string }, scope: RequestScope): Promise<{ withdrawn: number; doNotCall: boolean }> {
      let withdrawn = 0;
      for (const id of subjectIds) withdrawn += (await consent.withdrawForSubject(ctx, id, withdrawalsFor(scope), 'privacy-request')).length;
      const phones = coversDoNotCall(scope) ? await phonesOf(subjectIds, identifier) : [];
      if (phones.length > 0) {
        await db.transaction(async (tx) => {
          for (const phone of phones) await doNotCall.suppressInTransaction(tx, ctx, phone, 'privacy-request');
        });
      }
      return { withdrawn, doNotCall: phones.length > 0 };
    },

    async applyCorrection(ctx: RequestContext, subjectIds: string[], correction: Record<string, AttributeValue>): Promise<string[]> {
      const changed = new Set<string>();
      for (const id of subjectIds) for (const field of (await subjects.correctSubject(ctx, id, correction)).changed) changed.add(field);
      return [...changed];
    },

    /**
     * Erases each subject in one transaction: its values and data key go, and
     * with the subject row every row of every module that references it
     * (refs, consent ledger, contact slots: the foreign keys of migration
     * 0016); the audit trail stays. A number the person had opted out with stays
     * suppressed, as a pseudonym on the internal do-not-call list.
     *
     * What the erasure decides, it decides holding the subject (holdSubject):
     * whether the person opted out, and with `stillDue` (retention) whether the
     * subject is still due, so a grant or a contact that lands just before the
     * erasure is either seen here or waits and then fails (404); none is wiped
     * unseen, none survives.
     */
    async erase(ctx: RequestContext, subjectIds: string[], why: 'request' | 'retention', stillDue?: (subjectId: string) => Promise<boolean>): Promise<number> {
      let erased = 0;
      for (const id of subjectIds) {
        // Read first, decided on under the hold: a number changed meanwhile is suppressed with the one read.
        const phones = await phonesOf([id], { kind: 'phone' });
        const done = await db.transaction(async (tx) => {
          // The writers' own locks first, then the subject row, the order every writer takes them in (a
          // grant: its ledger lock, then its rows' foreign-key check), so an erasure and a writer never deadlock.
          await consent.lockSubjects(tx, [id]);
          await contacts.lockSubjects(tx, [id]);
          if (!(await subjects.holdSubject(tx, id))) return false;
          if (stillDue && !(await stillDue(id))) return false;
          const optedOut = (await consent.recordOf(id)).withdrawals > 0;
          for (const phone of optedOut ? phones : []) await doNotCall.suppressInTransaction(tx, ctx, phone, 'erasure-keeps-opt-out');
          const existed = await subjects.eraseSubjectRows(tx, id);
          if (existed) await appendAuditEvent(tx, ctx, { action: why === 'request' ? 'requests.subject.erase' : 'retention.subject.erase', decision: 'info', subject: id, reasons: [{ code: why }] });
          return existed;
        });
        if (done) erased += 1;
      }
      return erased;
    },

    buildExport: (subjectIds: string[], identifier: { kind: string }) => buildExport(deps, subjectIds, identifier),
  };
}

export type RequestActions = ReturnType<typeof createRequestActions>;
