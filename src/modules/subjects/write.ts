import { randomBytes } from 'node:crypto';
import { uuidV7 } from '../../shared/uuid-v7.ts';
import { seal } from '../../crypto/envelope.ts';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { Conflict, InvalidIdentifier, NotFound } from '../../shared/errors.ts';
import type { Tx } from '../../storage/database.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { isUniqueViolation } from '../../storage/database.ts';
import { appendAuditEvent, unknownName } from '../audit/service.ts';
import { currentKeyVersion } from '../key-ring/store.ts';
import { newSubjectId } from '../pseudonyms/derive.ts';
import { collectionViolations } from './collection.ts';
import type { SubjectWriteInput } from './schema.ts';
import * as store from './store.ts';
import { versionsUpTo, type AppCaller, type Vault } from './vault.ts';

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

/**
 * Whose record a write changes: the subject the identifiers match (or a new
 * one), the subject behind an app's ref, or a subject named by its pseudonym
 * (an approved correction). Only the first two give the app a ref.
 */
export type WriteTarget = { kind: 'match'; appId: string } | { kind: 'ref'; ref?: string; appId: string } | { kind: 'subject'; subjectId: string };

export interface WriteChanges {
  /** Normalized identifier values. */
  identifiers: Map<string, string>;
  attributes: Record<string, unknown>;
  timezone?: string;
  /** The purpose each change is recorded under in the subject's history. */
  purposeOf: (field: string) => string;
  /** The purpose the audit event names, when the whole write is under one. */
  eventPurpose?: string;
  action: string;
  /** The action when the write creates the subject (subjects.subject.create unless said). */
  createAction?: string;
  /** Reasons the audit event gives first (an import: which one). */
  reasons?: Array<{ code: string; detail?: string }>;
}

/** `created`: the app did not know the person before; `isNew`: Custos did not either (this write created the subject). */
type WriteOutcome = { refused: Conflict | NotFound; result?: undefined } | { refused?: undefined; result: { ref?: string; subjectId: string; created: boolean; isNew: boolean; changed: string[] } };

/**
 * The vault's one write rule set, inside the caller's transaction: identifiers
 * never merge two people, unchanged values are not rewritten, every change is
 * encrypted under the subject's data key, kept in its history and audited.
 */
export async function writeInTransaction(vault: Vault, tx: Tx, ctx: RequestContext, target: WriteTarget, input: WriteChanges): Promise<WriteOutcome> {
  const { keys, digestKeys, dataKeyOf, encryptValue, decryptValue, sealTimezone, refFor, subjectOfRef } = vault;
  const { identifiers } = input;
  const named = [...identifiers.keys(), ...Object.keys(input.attributes)];
  const now = new Date();
  await store.lockIdentifierIndex(tx, 'write');
  const current = await currentKeyVersion(tx);
  const lookups = [...identifiers].flatMap(([kind, value]) => digestKeys(kind, value, versionsUpTo(current)));
  const owners = new Map<string, string[]>();
  for (const match of await store.findByDigests(tx, lookups)) {
    owners.set(match.subjectId, [...new Set([...(owners.get(match.subjectId) ?? []), match.kind])]);
  }

  let subjectId: string | undefined;
  if (target.kind === 'ref') {
    subjectId = await subjectOfRef(tx, target.appId, target.ref!);
    if (!subjectId) return { refused: new NotFound('no subject with this ref') };
  } else if (target.kind === 'subject') {
    subjectId = (await store.findSubject(tx, target.subjectId))?.id;
    if (!subjectId) return { refused: new NotFound('no such subject') };
  }
  const others = [...owners.keys()].filter((id) => id !== subjectId);
  if ((target.kind !== 'match' && others.length > 0) || (target.kind === 'match' && others.length > 1)) {
    const groups = [...owners.entries()].map(([id, fields]) => ({ fields, subject: id === subjectId ? 'this' : 'another' }));
    return {
      refused: new Conflict('these identifiers belong to different people; Custos never merges subjects silently. Correct the identifiers or update each subject separately.', {
        conflicts: groups.map((g) => ({ fields: g.fields.map((f) => `identifiers.${f}`) })),
        reason: 'identifiers-match-different-people',
      }),
    };
  }
  subjectId ??= others[0];

  let subject: store.SubjectRow;
  let dataKey: Buffer;
  const created = subjectId === undefined;
  if (subjectId === undefined) {
    dataKey = randomBytes(32);
    const id = newSubjectId();
    subject = { id, timezone: sealTimezone(dataKey, id, input.timezone) ?? null, keyVersion: current, wrappedKey: seal(keys.wrappingKey(current), dataKey, id), createdAt: now, updatedAt: now };
    await store.insertSubject(tx, subject);
  } else {
    // Read holding the row (the subject lifecycle rule, see holdSubject): the write changes it last, so it takes the
    // lock that change needs now rather than upgrading later, which could deadlock with an erasure waiting for it.
    const held = await store.findSubjectForWrite(tx, subjectId);
    if (!held) return { refused: new NotFound('no subject with this ref') };
    subject = held;
    dataKey = dataKeyOf(subject);
  }

  const existing = created ? new Map<string, string>() : await store.readFields(tx, subject.id, named);
  // Matching by identifiers never changes one: a known phone number with a new e-mail address is a
  // conflict, not a silent replacement (a later reveal would go to whoever typed it). Replacing is
  // explicit: PATCH the subject's ref (or an approved correction).
  if (target.kind === 'match') {
    const differing = [...identifiers].filter(([kind, value]) => {
      const before = existing.get(kind);
      return before !== undefined && String(decryptValue(dataKey, subject.id, kind, before)) !== value;
    });
    if (differing.length > 0) {
      return {
        refused: new Conflict(
          'the identifiers match a person who holds another value for some of them; Custos never replaces an identifier by matching. To replace one, PATCH /v1/subjects/{ref} with it.',
          {
            conflicts: differing.map(([kind]) => ({ fields: [`identifiers.${kind}`] })),
            reason: 'identifier-contradicts-held-value',
          },
        ),
      };
    }
  }
  // Whether this app knew the person before: `created` is from the app's point of view, so an app
  // learns nothing about people other apps hold (deduplication happens underneath all the same).
  const knownToApp = target.kind === 'match' && !created ? (await store.findRefOfApp(tx, target.appId, subject.id)) !== undefined : !created;
  const changes: store.ChangeRow[] = [];
  const record = (field: string, value: unknown) => {
    const before = existing.get(field);
    if (before !== undefined && value !== null && canonicalJson(decryptValue(dataKey, subject.id, field, before)) === canonicalJson(value)) return false;
    if (before === undefined && value === null) return false;
    const ciphertext = value === null ? null : encryptValue(dataKey, subject.id, field, value);
    changes.push({
      id: uuidV7(now.getTime()), // time-ordered: a subject's history is appended at the index's right edge
      subjectId: subject.id,
      field,
      change: value === null ? 'remove' : 'set',
      ciphertext,
      purpose: input.purposeOf(field),
      actorId: ctx.actor.id ?? null,
      requestId: ctx.requestId,
      changedAt: now,
    });
    return true;
  };
  const newDigests: store.DigestKey[] = [];
  for (const [kind, value] of identifiers) {
    if (record(kind, value)) newDigests.push(digestKeys(kind, value, [current])[0]!);
  }
  for (const [field, value] of Object.entries(input.attributes)) record(field, value);
  // A new subject has nothing to replace or remove: its rows are inserted, a statement for each table.
  await store.replaceIdentifiers(tx, subject.id, newDigests, !created);
  for (const change of changes) if (change.ciphertext === null) await store.removeField(tx, subject.id, change.field);
  await store.writeFields(
    tx,
    subject.id,
    changes.flatMap((c) => (c.ciphertext === null ? [] : [{ field: c.field, ciphertext: c.ciphertext }])),
    now,
  );
  await store.insertChanges(tx, changes);
  if (!created) await store.touchSubject(tx, subject.id, now, sealTimezone(dataKey, subject.id, input.timezone) ?? undefined);
  const ref = target.kind === 'ref' ? target.ref : target.kind === 'match' ? await refFor(tx, target.appId, subject.id, now, created) : undefined;
  const changed = changes.map((c) => c.field);
  const purposes = input.eventPurpose === undefined ? [...new Set(changed.map(input.purposeOf))].map((p) => ({ code: 'held-for', detail: p })) : [];
  const replaced = changes.filter((c) => c.change === 'set' && identifiers.has(c.field) && existing.has(c.field)).map((c) => ({ code: 'identifier-replaced', detail: c.field }));
  await appendAuditEvent(tx, ctx, {
    action: created ? (input.createAction ?? 'subjects.subject.create') : input.action,
    decision: 'allow',
    subject: subject.id,
    purpose: input.eventPurpose,
    fields: changed,
    reasons: [...(input.reasons ?? []), ...(changed.length === 0 ? [{ code: 'no-change' }] : [...purposes, ...replaced])],
  });
  return { result: { ref, subjectId: subject.id, created: !knownToApp, isNew: created, changed } };
}
