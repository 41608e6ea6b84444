import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import type { Conflict, NotFound } from '../../shared/errors.ts';
import { currentKeyVersion } from '../key-ring/store.ts';
import { collectionViolations } from './collection.ts';
import type { AttributeValue } from './schema.ts';
import * as store from './store.ts';
import { versionsUpTo, type AppCaller, type Vault } from './vault.ts';
import { writeInTransaction } from './write.ts';

/** A person as an import brings them: the purpose they are written for, their identifiers, attributes and time zone. */
export interface ImportedPerson {
  purpose: string;
  identifiers: Record<string, string>;
  attributes: Record<string, AttributeValue>;
  timezone?: string;
}

type RowProblem = { field: string; reason: string };

/**
 * The live write's checks, before anything of the row is written: minimal
 * collection for the purpose (the field named, never its value) and
 * normalization. Answers the normalized identifiers, or why the row is refused.
 */
export function importedPersonProblems(vault: Vault, caller: AppCaller, person: ImportedPerson): { problems: RowProblem[]; identifiers: Map<string, string> } {
  const violations = collectionViolations(vault.policy, caller.purposes, person.purpose, Object.keys(person.identifiers), Object.keys(person.attributes));
  if (violations.length > 0) return { problems: violations.map((v) => ({ field: v.field, reason: v.reason })), identifiers: new Map() };
  const { values, problems } = vault.normalizeAll(person.identifiers);
  return { problems: problems.map((p) => ({ field: p.path, reason: 'invalid-identifier' })), identifiers: values };
}

/** The subjects these people's normalized identifiers match now, in one statement in the caller's transaction: an import takes their locks before it writes. */
export async function subjectsMatchingIn(vault: Vault, tx: Tx, people: Array<Map<string, string>>): Promise<string[]> {
  const current = await currentKeyVersion(tx);
  const keys = people.flatMap((identifiers) => [...identifiers].flatMap(([kind, value]) => vault.digestKeys(kind, value, versionsUpTo(current))));
  return [...new Set((await store.findByDigests(tx, keys)).map((m) => m.subjectId))];
}

/**
 * Writes an imported person in the import's transaction by the live write's
 * one rule set (writeInTransaction: matched by identifiers, never merged, an
 * identifier never replaced by matching), audited as an import. A refusal
 * writes nothing and names the fields, never the values.
 */
export async function writeImportedPerson(
  vault: Vault,
  tx: Tx,
  ctx: RequestContext,
  caller: AppCaller,
  person: ImportedPerson,
  identifiers: Map<string, string>,
  importId: string,
): Promise<{ refused: RowProblem[] } | { subjectId: string; ref: string; isNew: boolean; changed: string[] }> {
  const outcome = await writeInTransaction(
    vault,
    tx,
    ctx,
    { kind: 'match', appId: caller.clientId },
    {
      identifiers,
      attributes: person.attributes,
      timezone: person.timezone,
      purposeOf: () => person.purpose,
      eventPurpose: person.purpose,
      action: 'subjects.subject.import',
      createAction: 'subjects.subject.import',
      reasons: [{ code: 'import', detail: importId }],
    },
  );
  if (outcome.refused) return { refused: refusalOf(outcome.refused) };
  const { result } = outcome;
  return { subjectId: result.subjectId, ref: result.ref!, isNew: result.isNew, changed: result.changed };
}

function refusalOf(error: Conflict | NotFound): RowProblem[] {
  const conflicts = (error.extensions.conflicts as Array<{ fields: string[] }> | undefined) ?? [];
  const fields = conflicts.flatMap((c) => c.fields);
  const reason = typeof error.extensions.reason === 'string' ? error.extensions.reason : error.code;
  return fields.length > 0 ? fields.map((field) => ({ field, reason })) : [{ field: 'identifiers', reason }];
}
