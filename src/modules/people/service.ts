import { InvalidIdentifier, ValidationError } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { ConsentService } from '../consent/service.ts';
import type { ContactService } from '../contacts/service.ts';
import type { DoNotCall } from '../dnc/service.ts';
import type { Policy } from '../policies/schema.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import type { SubjectService } from '../subjects/service.ts';

export interface PeopleDeps {
  policy: Policy;
  audit: AuditGroupCommit;
  pseudonyms: IdentifierPseudonyms;
  subjects: SubjectService;
  consent: ConsentService;
  contacts: ContactService;
  doNotCall: DoNotCall;
  appNames: () => Promise<Map<string, string>>;
}

/**
 * What an officer sees of one person, found by an identifier as the officer
 * has it: consents with their history and receipts, recent contacts and the
 * do-not-call status of their number. No field value: officers answer
 * questions about permissions and contacts, not about the data itself. Each
 * look is audited, once per subject found.
 */
export function createPeopleService(deps: PeopleDeps) {
  const { policy, pseudonyms, subjects, consent, contacts, doNotCall } = deps;

  async function personView(ctx: RequestContext, query: Record<string, string>) {
    const named = Object.entries(query).filter(([field]) => policy.fields[field]?.kind === 'identifier');
    if (named.length !== 1)
      throw new ValidationError([
        {
          path: '(query)',
          message: `name exactly one identifier (${Object.keys(policy.fields)
            .filter((f) => policy.fields[f]!.kind === 'identifier')
            .join(', ')})`,
        },
      ]);
    const [field, raw] = named[0]!;
    const normalized = pseudonyms.normalize(field, raw);
    if ('problem' in normalized) throw new InvalidIdentifier([{ path: field, message: normalized.problem }]);
    const apps = await deps.appNames();
    const found = await subjects.subjectsWithIdentifier(field, normalized.value);
    const people = [];
    for (const subject of found) {
      const record = await consent.recordOf(subject);
      const phone = field === 'phone' ? normalized.value : (await subjects.contactDetails(subject, 'phone'))?.value;
      const made = await contacts.contactsOfSubject(subject);
      people.push({
        subject,
        consents: { purposes: record.purposes, history: record.history },
        contacts: made
          .slice(-50)
          .reverse()
          .map((c) => ({ ...c, at: c.at.toISOString(), app: apps.get(c.appId) ?? c.appId })),
        doNotCall: phone ? await doNotCall.statusOf(phone) : null,
      });
      await deps.audit.record(ctx, { action: 'people.person.view', decision: 'allow', subject, reasons: [{ code: 'by', detail: field }] });
    }
    if (found.length === 0) await deps.audit.record(ctx, { action: 'people.person.view', decision: 'info', reasons: [{ code: 'no-match' }, { code: 'by', detail: field }] });
    return { people, doNotCall: field === 'phone' && found.length === 0 ? await doNotCall.statusOf(normalized.value) : undefined };
  }

  return { personView };
}

export type PeopleService = ReturnType<typeof createPeopleService>;
