import type { RequestContext } from '../../shared/request-context.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { KeyRing } from '../key-ring/key-ring.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import type { Policy } from '../policies/schema.ts';
import { isRefShaped } from '../pseudonyms/derive.ts';
import type { Database, Tx } from '../../storage/database.ts';
import type { AlongsideColumns } from '../../storage/alongside.ts';
import { contactDetails, contactDetailsByRefs, contactDetailsOfRef } from './contact-details.ts';
import { correctSubject, eraseSubjectRows, heldData, lastWritePerPurpose, subjectsWithIdentifier } from './customer-data.ts';
import { seedSubjects } from './demo-seed.ts';
import { importedPersonProblems, subjectsMatchingIn, writeImportedPeople, type ImportedPerson } from './import-write.ts';
import { sealLegacyTimezones } from './legacy-timezones.ts';
import { lookupSubject, subjectsMatching } from './lookup.ts';
import { readSubject } from './read.ts';
import { rotateKeys } from './rotate-keys.ts';
import type { AttributeValue, SubjectWriteInput } from './schema.ts';
import * as store from './store.ts';
import { createVault, type AppCaller, type ConsentReadOf } from './vault.ts';
import { writeSubject } from './write.ts';

export type { AppCaller, SubjectView } from './vault.ts';
export type { ImportedPerson } from './import-write.ts';

export interface SubjectServiceDeps {
  db: Database;
  policy: Policy;
  keys: KeyRing;
  audit: AuditGroupCommit;
  pseudonyms: IdentifierPseudonyms;
  consentRead: ConsentReadOf;
}

/** Wires the subject operations (one a file) to one vault; no rule lives here. */
export function createSubjectService(deps: SubjectServiceDeps) {
  const vault = createVault(deps);
  const { db } = vault;
  return {
    writeSubject: (ctx: RequestContext, caller: AppCaller, input: SubjectWriteInput, ref?: string) => writeSubject(vault, ctx, caller, input, ref),
    readSubject: (ctx: RequestContext, caller: AppCaller, ref: string, purpose: string, recipient?: string) => readSubject(vault, deps.consentRead, ctx, caller, ref, purpose, recipient),
    lookupSubject: (ctx: RequestContext, caller: AppCaller, purpose: string, identifier: { field: string; value: string }) => lookupSubject(vault, ctx, caller, purpose, identifier),
    rotateKeys: (ctx: RequestContext, onProgress?: (done: number) => void) => rotateKeys(vault, ctx, onProgress),
    seedSubjects: (ctx: RequestContext, appId: string, count: number, onProgress?: (done: number) => void, options?: { firstSerial?: number }) =>
      seedSubjects(vault, ctx, appId, count, onProgress, options),
    contactDetails: (subjectId: string, field: string | undefined) => contactDetails(vault, subjectId, field),
    contactDetailsByRefs: (appId: string, refs: string[], field: string | undefined) => contactDetailsByRefs(vault, appId, refs, field),
    contactDetailsOfRef: <A extends AlongsideColumns>(appId: string, ref: string, field: string | undefined, alongside: A) => contactDetailsOfRef(vault, appId, ref, field, alongside),
    subjectsMatching: (value: string) => subjectsMatching(vault, value),
    // For customer requests and retention (the requests module):
    subjectsWithIdentifier: (field: string, normalized: string) => subjectsWithIdentifier(vault, field, normalized),
    heldData: (subjectId: string) => heldData(vault, subjectId),
    correctSubject: (ctx: RequestContext, subjectId: string, correction: Record<string, AttributeValue>) => correctSubject(vault, ctx, subjectId, correction),
    eraseSubjectRows: (tx: Tx, subjectId: string) => eraseSubjectRows(tx, subjectId),
    /** The subject lifecycle rule's lock (see holdSubject): an erasure decides under it; false when the subject is gone. */
    holdSubject: (tx: Tx, subjectId: string) => store.holdSubject(tx, subjectId),
    lastWritePerPurpose: (subjectIds: string[]) => lastWritePerPurpose(vault, subjectIds),
    subjectPage: (afterId: string, size: number) => store.subjectPage(db.read, afterId, size),
    /** For suppression lists (the contacts module): an app's refs, a page at a time in subject order. */
    refsOfApp: (appId: string, afterSubjectId: string, size: number) => store.refsOfAppPage(db, appId, afterSubjectId, size),
    sealLegacyTimezones: () => sealLegacyTimezones(vault),
    // For imports (the imports module): the live write's checks before a row is written, then the write in its transaction.
    importedPersonProblems: (caller: AppCaller, person: ImportedPerson) => importedPersonProblems(vault, caller, person),
    subjectsMatchingIn: (tx: Tx, people: Array<Map<string, string>>) => subjectsMatchingIn(vault, tx, people),
    writeImportedPeople: (tx: Tx, ctx: RequestContext, caller: AppCaller, people: Array<{ person: ImportedPerson; identifiers: Map<string, string> }>, importId: string) =>
      writeImportedPeople(vault, tx, ctx, caller, people, importId),
    /** For other modules (consent, contacts): the subject behind an app's ref, on the fast read path. */
    async subjectOfRef(appId: string, ref: string): Promise<string | undefined> {
      if (!isRefShaped(ref)) return undefined;
      return store.subjectIdOfRef(db, appId, ref);
    },
  };
}

export type SubjectService = ReturnType<typeof createSubjectService>;
