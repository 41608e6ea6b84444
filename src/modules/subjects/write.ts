import { Conflict, InvalidIdentifier, NotFound } from '../../shared/errors.ts';
import type { Tx } from '../../storage/database.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { isUniqueViolation } from '../../storage/database.ts';
import { unknownName } from '../audit/service.ts';
import { collectionViolations } from './collection.ts';
import type { SubjectWriteInput } from './schema.ts';
import type { AppCaller, Vault } from './vault.ts';
import { writeManyInTransaction, type WriteChanges, type WriteOutcome, type WriteTarget } from './write-many.ts';

/**
 * Creates or updates a subject. Without `ref`, the normalized identifiers
 * find the subject (or a new one is created); with `ref` (PATCH), the ref
 * names it and the identifiers must not belong to anyone else.
 */
export async function writeSubject(vault: Vault, ctx: RequestContext, caller: AppCaller, input: SubjectWriteInput, ref?: string): Promise<{ ref: string; created: boolean; changed: string[] }> {
  const { db, policy, refuse, violationError, normalizeAll } = vault;
  const identifierNames = Object.keys(input.identifiers);
  const attributeNames = Object.keys(input.attributes);
  const named = [...identifierNames, ...attributeNames];
  const action = ref ? 'subjects.subject.update' : 'subjects.subject.write';
  const violations = collectionViolations(policy, caller.purposes, input.purpose, identifierNames, attributeNames);
  // A field the policy does not declare is caller text: its name goes to the trail only as a hash (see the audit vocabulary).
  const detailOf = (path: string) => (path === 'purpose' || policy.fields[path.split('.').pop()!] ? path : unknownName(path));
  if (violations.length > 0)
    return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: violations.map((v) => ({ code: v.reason, detail: detailOf(v.field) })) }, violationError(violations));
  const { values: identifiers, problems } = normalizeAll(input.identifiers);
  if (problems.length > 0)
    return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: problems.map((p) => ({ code: 'invalid-identifier', detail: p.path })) }, new InvalidIdentifier(problems));

  const attempt = () =>
    db.transaction((tx) =>
      writeInTransaction(
        vault,
        tx,
        ctx,
        { kind: ref ? 'ref' : 'match', ref, appId: caller.clientId },
        { identifiers, attributes: input.attributes, timezone: input.timezone, purposeOf: () => input.purpose, eventPurpose: input.purpose, action },
      ),
    );

  const outcome = await retryOnceOnDuplicate(attempt);
  if (outcome.refused) {
    return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: [{ code: outcome.refused.code }] }, outcome.refused);
  }
  return { ref: outcome.result.ref!, created: outcome.result.created, changed: outcome.result.changed };
}

/** Two requests created the same new person at once; the loser retries and merges into the winner. */
export async function retryOnceOnDuplicate<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return attempt();
  }
}

export type { WriteChanges, WriteOutcome, WriteTarget } from './write-many.ts';

/** One write by the vault's one rule set (writeManyInTransaction), inside the caller's transaction. */
export async function writeInTransaction(vault: Vault, tx: Tx, ctx: RequestContext, target: WriteTarget, input: WriteChanges): Promise<WriteOutcome> {
  const [outcome] = await writeManyInTransaction(vault, tx, ctx, [{ target, input }]);
  return outcome!;
}
