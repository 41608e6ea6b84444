import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import type { ConsentService } from '../consent/service.ts';
import type { ContactService } from '../contacts/service.ts';
import type { DoNotCall } from '../dnc/service.ts';
import type { AppCaller, SubjectService } from '../subjects/service.ts';
import type { RowPlan } from './row-plan.ts';
import type { ImportCounts, ImportError } from './schema.ts';

export interface BatchWriters {
  subjects: Pick<SubjectService, 'subjectsMatchingIn' | 'writeImportedPeople'>;
  consent: Pick<ConsentService, 'lockSubjects' | 'importHistories'>;
  contacts: Pick<ContactService, 'lockSubjects' | 'importPastContacts'>;
  doNotCall: Pick<DoNotCall, 'suppressInTransaction'>;
}

export interface BatchOutcome {
  counts: Partial<ImportCounts>;
  errors: ImportError[];
  refs: Array<{ line: number; externalId: string; subjectId: string }>;
}

/**
 * One batch of checked rows in the caller's transaction, through each
 * module's live write rules: the people (matched, never merged), their
 * consent history, do-not-call flag and past contacts, each person's audit
 * event naming the import. Locks are taken the way every writer takes them
 * (consent, then contacts, then the subject row): first those of the people
 * the rows match now, so the batch never holds a subject row while it waits
 * for a lock an erasure of that person holds. A row refused here (its
 * identifiers match two people, or contradict a held value) has written
 * nothing: each module checks before it writes.
 */
export async function writeBatch(w: BatchWriters, tx: Tx, ctx: RequestContext, caller: AppCaller, importId: string, plans: RowPlan[], now: Date): Promise<BatchOutcome> {
  const held = (
    await w.subjects.subjectsMatchingIn(
      tx,
      plans.map((p) => p.identifiers),
    )
  ).sort();
  await w.consent.lockSubjects(tx, held);
  await w.contacts.lockSubjects(tx, held);

  const counts: Partial<ImportCounts> = {};
  const add = (key: keyof ImportCounts, n = 1) => void (counts[key] = (counts[key] ?? 0) + n);
  const errors: ImportError[] = [];
  const written: Array<{ plan: RowPlan; subject: { id: string; ref: string; isNew: boolean }; changed: string[] }> = [];
  const people = await w.subjects.writeImportedPeople(
    tx,
    ctx,
    caller,
    plans.map((p) => ({ person: p.person, identifiers: p.identifiers })),
    importId,
  );
  for (const [i, plan] of plans.entries()) {
    const outcome = people[i]!;
    if ('refused' in outcome) {
      add('refused');
      errors.push(...outcome.refused.map((p) => ({ line: plan.line, field: p.field, reason: p.reason })));
    } else written.push({ plan, subject: { id: outcome.subjectId, ref: outcome.ref, isNew: outcome.isNew }, changed: outcome.changed });
  }
  // The batch's consent history at once: its receipts are signed together.
  const entered = await w.consent.importHistories(
    tx,
    ctx,
    written.map((x) => ({ subject: x.subject, events: x.plan.history })),
    importId,
  );
  const refs: BatchOutcome['refs'] = [];
  for (const [i, { plan, subject, changed }] of written.entries()) {
    const listed = plan.doNotCall ? (await w.doNotCall.suppressInTransaction(tx, ctx, plan.doNotCall.phone, 'import', plan.doNotCall.note)).added : false;
    const contacts = await w.contacts.importPastContacts(tx, subject, caller.clientId, plan.contacts, now);
    add('consentEvents', entered[i]!);
    if (listed) add('doNotCall');
    add('contacts', contacts.entered);
    add('contactsTooOld', contacts.tooOld);
    if (subject.isNew) add('created');
    else if (changed.length > 0 || entered[i]! > 0 || listed || contacts.entered > 0) add('updated');
    else add('unchanged');
    refs.push({ line: plan.line, externalId: plan.externalId, subjectId: subject.id });
  }
  return { counts, errors, refs };
}
