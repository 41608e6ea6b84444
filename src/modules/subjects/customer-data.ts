import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import { currentKeyVersion } from '../key-ring/store.ts';
import { InvalidIdentifier } from '../../shared/errors.ts';
import type { AttributeValue } from './schema.ts';
import * as store from './store.ts';
import { versionsUpTo, type Vault } from './vault.ts';
import { retryOnceOnDuplicate, writeInTransaction } from './write.ts';

/** What Custos holds about one subject, decrypted: the base of a person's access export. */
export interface HeldData {
  subjectId: string;
  timezone: string | null;
  createdAt: Date;
  fields: Array<{ field: string; kind: 'identifier' | 'attribute'; value: AttributeValue; updatedAt: Date }>;
  history: Array<{ field: string; change: 'set' | 'remove'; value: AttributeValue | null; purpose: string; actorId: string | null; at: Date }>;
  /** The apps that hold a ref for the subject, and since when. */
  apps: Array<{ appId: string; since: Date }>;
}

/** The subjects holding an identifier (normalized), under any key version: what a verified customer request reaches. */
export async function subjectsWithIdentifier(vault: Vault, field: string, normalized: string): Promise<string[]> {
  const { db, digestKeys } = vault;
  const current = await currentKeyVersion(db.read);
  return [...new Set((await store.findByDigests(db.read, digestKeys(field, normalized, versionsUpTo(current)))).map((m) => m.subjectId))];
}

export async function heldData(vault: Vault, subjectId: string): Promise<HeldData | undefined> {
  const { db, policy, dataKeyOf, decryptValue } = vault;
  const subject = await store.findSubject(db.read, subjectId);
  if (!subject) return undefined;
  const dataKey = dataKeyOf(subject);
  const sealed = await db.read.subjectField.findMany({ where: { subjectId }, orderBy: { field: 'asc' } });
  const changes = await store.readChanges(db.read, subjectId);
  const kindOf = (field: string) => (policy.fields[field]?.kind === 'identifier' ? 'identifier' : 'attribute');
  return {
    subjectId,
    timezone: vault.openTimezone(subject, dataKey),
    createdAt: subject.createdAt,
    fields: sealed.map((f) => ({ field: f.field, kind: kindOf(f.field), value: decryptValue(dataKey, subjectId, f.field, f.ciphertext) as AttributeValue, updatedAt: f.updatedAt })),
    history: changes.map((c) => ({
      field: c.field,
      change: c.change,
      value: c.ciphertext === null ? null : (decryptValue(dataKey, subjectId, c.field, c.ciphertext) as AttributeValue),
      purpose: c.purpose,
      actorId: c.actorId,
      at: c.changedAt,
    })),
    apps: (await store.refsOfSubject(db.read, subjectId)).map((r) => ({ appId: r.appId, since: r.createdAt })),
  };
}

/**
 * An approved correction: the same write rules as an app's write (normalized
 * identifiers, no silent merge, history, audit), each field recorded under the
 * first purpose that collects it. Fields no purpose collects were refused when
 * the request was made.
 */
export async function correctSubject(vault: Vault, ctx: RequestContext, subjectId: string, correction: Record<string, AttributeValue>): Promise<{ changed: string[] }> {
  const { db, policy, normalizeAll } = vault;
  const identifierInput: Record<string, string> = {};
  const attributes: Record<string, AttributeValue> = {};
  for (const [field, value] of Object.entries(correction)) {
    if (policy.fields[field]?.kind === 'identifier') identifierInput[field] = String(value);
    else attributes[field] = value;
  }
  const { values: identifiers, problems } = normalizeAll(identifierInput);
  if (problems.length > 0) throw new InvalidIdentifier(problems.map((p) => ({ ...p, path: p.path.replace(/^identifiers\./, 'correction.') })));
  const purposeOf = (field: string) => Object.entries(policy.purposes).find(([, p]) => p.collect.includes(field))?.[0] ?? 'correction';
  const outcome = await retryOnceOnDuplicate(() =>
    db.transaction((tx) => writeInTransaction(vault, tx, ctx, { kind: 'subject', subjectId }, { identifiers, attributes, purposeOf, action: 'subjects.subject.correct' })),
  );
  if (outcome.refused) throw outcome.refused;
  return { changed: outcome.result.changed };
}

/** Erasure of the subject inside the caller's transaction: every module's rows of the person go with its row (the foreign keys cascade). */
export async function eraseSubjectRows(tx: Tx, subjectId: string): Promise<boolean> {
  return store.deleteSubject(tx, subjectId);
}

export async function lastWritePerPurpose(vault: Vault, subjectIds: string[]) {
  return store.lastChangePerPurpose(vault.db.read, subjectIds);
}
