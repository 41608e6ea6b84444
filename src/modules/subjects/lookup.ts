import { InvalidIdentifier, NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { currentKeyVersion } from '../key-ring/store.ts';
import { isRefShaped } from '../pseudonyms/derive.ts';
import { grantedPurpose, type Violation } from './collection.ts';
import { normalizeIdentifier } from '../pseudonyms/normalize.ts';
import { readRefusal } from './read.ts';
import * as store from './store.ts';
import { versionsUpTo, type AppCaller, type Vault } from './vault.ts';

/** Finds the subject holding one identifier and answers the caller's ref for it (minting one if needed). */
export async function lookupSubject(vault: Vault, ctx: RequestContext, caller: AppCaller, purpose: string, identifier: { field: string; value: string }): Promise<{ ref: string }> {
  const { db, policy, refuse, violationError, digestKeys } = vault;
  const action = 'subjects.subject.lookup';
  const event = { action, purpose, fields: [identifier.field] };
  const access = grantedPurpose(policy, caller.purposes, purpose);
  if ('violation' in access) return refuse(ctx, { ...event, reasons: [{ code: access.violation.reason }] }, readRefusal(access.violation));
  const definition = policy.fields[identifier.field];
  const lookupViolation: Violation | undefined = !definition
    ? { field: identifier.field, reason: 'unknown-field' }
    : definition.kind !== 'identifier'
      ? { field: identifier.field, reason: 'not-an-identifier' }
      : !access.definition.collect.includes(identifier.field)
        ? { field: identifier.field, reason: 'not-collected-for-purpose' }
        : undefined;
  if (lookupViolation) return refuse(ctx, { ...event, reasons: [{ code: lookupViolation.reason }] }, violationError([lookupViolation]));
  const normalized = normalizeIdentifier(definition!, identifier.value, policy.defaults.region);
  if ('problem' in normalized) return refuse(ctx, { ...event, reasons: [{ code: 'invalid-identifier' }] }, new InvalidIdentifier([{ path: identifier.field, message: normalized.problem }]));

  const current = await currentKeyVersion(db.read);
  const matches = await store.findByDigests(db.read, digestKeys(identifier.field, normalized.value, versionsUpTo(current)));
  const subjectId = matches[0]?.subjectId;
  // Only people this app has written or been given a ref for: a lookup must not tell an app that
  // the organisation knows someone through another app. An unknown and a foreign person look the same.
  const ref = subjectId ? await store.findRefOfApp(db.read, caller.clientId, subjectId) : undefined;
  if (!subjectId || !ref) return refuse(ctx, { ...event, reasons: [{ code: 'no-match' }] }, new NotFound('no subject holds this identifier'));
  await vault.audit.record(ctx, { ...event, decision: 'allow', subject: subjectId });
  return { ref };
}

/**
 * For officers' searches: the subjects a value names, whether it is a ref
 * of any app, a subject pseudonym, or a raw identifier in any accepted
 * format (tried against every identifier field of the policy). The value is
 * only normalized and pseudonymized here, never stored.
 */
export async function subjectsMatching(vault: Vault, value: string): Promise<string[]> {
  const { db, policy, digestKeys } = vault;
  if (isRefShaped(value)) {
    const found = await store.findRef(db.read, value);
    return found ? [found.subjectId] : [];
  }
  if (/^sub_[A-Za-z0-9_-]{22}$/.test(value)) return [value];
  const current = await currentKeyVersion(db.read);
  const keysToTry = vault.identifierFields().flatMap((field) => {
    const normalized = normalizeIdentifier(policy.fields[field]!, value, policy.defaults.region);
    return 'value' in normalized ? digestKeys(field, normalized.value, versionsUpTo(current)) : [];
  });
  if (keysToTry.length === 0) return [];
  return [...new Set((await store.findByDigests(db.read, keysToTry)).map((m) => m.subjectId))];
}
