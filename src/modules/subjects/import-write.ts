import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import type { Conflict, NotFound } from '../../shared/errors.ts';
import { currentKeyVersion } from '../key-ring/store.ts';
import { collectionViolations } from './collection.ts';
import type { AttributeValue } from './schema.ts';
import * as store from './store.ts';
import { versionsUpTo, type AppCaller, type Vault } from './vault.ts';
import { writeManyInTransaction } from './write-many.ts';

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
  return [...new Set((await store.findOwnersOfDigests(tx, keys)).map((m) => m.subjectId))];
}

/**
 * Writes imported people in the import's transaction by the live write's one
 * rule set (writeManyInTransaction: matched by identifiers, never merged, an
 * identifier never replaced by matching), each audited as an import. A refusal
 * writes nothing of its person and names the fields, never the values.
 */
export async function writeImportedPeople(
  vault: Vault,
  tx: Tx,
  ctx: RequestContext,
  caller: AppCaller,
  people: Array<{ person: ImportedPerson; identifiers: Map<string, string> }>,
  importId: string,
): Promise<Array<{ refused: RowProblem[] } | { subjectId: string; ref: string; isNew: boolean; changed: string[] }>> {
  const outcomes = await writeManyInTransaction(
    vault,
    tx,
    ctx,
    people.map(({ person, identifiers }) => ({
      target: { kind: 'match' as const, appId: caller.clientId },
      input: {
        identifiers,
        attributes: person.attributes,
        timezone: person.timezone,
        purposeOf: () => person.purpose,
        eventPurpose: person.purpose,
        action: 'subjects.subject.import',
        createAction: 'subjects.subject.import',
        reasons: [{ code: 'import', detail: importId }],
      },
    })),
  );
  return outcomes.map((outcome) =>
    outcome.refused ? { refused: refusalOf(outcome.refused) } : { subjectId: outcome.result.subjectId, ref: outcome.result.ref!, isNew: outcome.result.isNew, changed: outcome.result.changed },
  );
}

function refusalOf(error: Conflict | NotFound): RowProblem[] {
  const conflicts = (error.extensions.conflicts as Array<{ fields: string[] }> | undefined) ?? [];
  const fields = conflicts.flatMap((c) => c.fields);
  const reason = typeof error.extensions.reason === 'string' ? error.extensions.reason : error.code;
  return fields.length > 0 ? fields.map((field) => ({ field, reason })) : [{ field: 'identifiers', reason }];
}
