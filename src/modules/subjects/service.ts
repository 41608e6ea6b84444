import type { RequestContext } from '../../shared/request-context.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import { currentKeyVersion, readCurrentKeyVersion } from '../keys/store.ts';
import type { Policy } from '../policies/schema.ts';
import { isRefShaped } from '../pseudonyms/derive.ts';
import type { Database } from '../../storage/database.ts';
import { contactDetails, contactDetailsByRefs } from './contact-details.ts';
import { seedSubjects } from './demo-seed.ts';
import { createIdentifierTagger, type IdentifierTagger } from './identifier-tagger.ts';
import { lookupSubject, subjectsMatching } from './lookup.ts';
import { normalizeIdentifier } from './normalize.ts';
import { readSubject } from './read.ts';
import { rotateKeys } from './rotate-keys.ts';
import type { SubjectWriteInput } from './schema.ts';
import * as store from './store.ts';
import { createVault, versionsUpTo, type AppCaller, type RequireConsent } from './vault.ts';
import { writeSubject } from './write.ts';

export type { AppCaller, SubjectView } from './vault.ts';

export interface SubjectServiceDeps {
  db: Database;
  policy: Policy;
  keys: KeyRing;
  audit: AuditGroupCommit;
  requireConsent: RequireConsent;
}

/** Wires the subject operations (one a file) to one vault; no rule lives here. */
export function createSubjectService(deps: SubjectServiceDeps) {
  const vault = createVault(deps);
  const { db, policy, keys, digestKeys } = vault;
  return {
    writeSubject: (ctx: RequestContext, caller: AppCaller, input: SubjectWriteInput, ref?: string) => writeSubject(vault, ctx, caller, input, ref),
    readSubject: (ctx: RequestContext, caller: AppCaller, ref: string, purpose: string, recipient?: string) => readSubject(vault, deps.requireConsent, ctx, caller, ref, purpose, recipient),
    lookupSubject: (ctx: RequestContext, caller: AppCaller, purpose: string, identifier: { field: string; value: string }) => lookupSubject(vault, ctx, caller, purpose, identifier),
    rotateKeys: (ctx: RequestContext, onProgress?: (done: number) => void) => rotateKeys(vault, ctx, onProgress),
    seedSubjects: (ctx: RequestContext, appId: string, count: number, onProgress?: (done: number) => void, options?: { firstSerial?: number }) => seedSubjects(vault, ctx, appId, count, onProgress, options),
    contactDetails: (subjectId: string, field: string | undefined) => contactDetails(vault, subjectId, field),
    contactDetailsByRefs: (appId: string, refs: string[], field: string | undefined) => contactDetailsByRefs(vault, appId, refs, field),
    subjectsMatching: (value: string) => subjectsMatching(vault, value),
    /** Identifier pseudonyms of a normalized value under every key version up to the current one. */
    async digestsOf(field: string, normalized: string): Promise<string[]> {
      const current = await readCurrentKeyVersion(db);
      return digestKeys(field, normalized, versionsUpTo(current)).map((k) => k.digest);
    },
    currentDigest: async (field: string, normalized: string) => digestKeys(field, normalized, [await currentKeyVersion(db.read)])[0]!,
    /** For registries of millions of values: normalizes and tags them (see identifierTag) on `threads` worker threads. */
    async identifierTagger(field: string, threads: number): Promise<IdentifierTagger> {
      const version = await currentKeyVersion(db.read);
      const definition = policy.fields[field] ?? { kind: 'identifier' as const, sensitive: false };
      return createIdentifierTagger({ kind: field, definition, region: policy.defaults.region, keyVersion: version, key: keys.identifierKey(version) }, threads);
    },
    normalize: (field: string, raw: string) => normalizeIdentifier(policy.fields[field] ?? { kind: 'identifier', sensitive: false }, raw, policy.defaults.region),
    /** For other modules (consent, contacts): the subject behind an app's ref, on the fast read path. */
    async subjectOfRef(appId: string, ref: string): Promise<string | undefined> {
      if (!isRefShaped(ref)) return undefined;
      return store.subjectIdOfRef(db, appId, ref);
    },
  };
}

export type SubjectService = ReturnType<typeof createSubjectService>;
