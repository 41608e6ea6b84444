import { randomBytes } from 'node:crypto';
import { seal } from '../../crypto/envelope.ts';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { Conflict, NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { uuidV7 } from '../../shared/uuid-v7.ts';
import type { Tx } from '../../storage/database.ts';
import { appendAuditEvents } from '../audit/service.ts';
import type { AuditEventInput } from '../audit/schema.ts';
import { currentKeyVersion } from '../key-ring/store.ts';
import { newRef, newSubjectId } from '../pseudonyms/derive.ts';
import * as store from './store.ts';
import { versionsUpTo, type Vault } from './vault.ts';

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
export type WriteOutcome =
  { refused: Conflict | NotFound; result?: undefined } | { refused?: undefined; result: { ref?: string; subjectId: string; created: boolean; isNew: boolean; changed: string[] } };

export interface SubjectWrite {
  target: WriteTarget;
  input: WriteChanges;
}

const different = () =>
  new Conflict('these identifiers belong to different people; Custos never merges subjects silently. Correct the identifiers or update each subject separately.', {
    reason: 'identifiers-match-different-people',
  });

/** What a write decided before anything of it is written: refused, or the subject it changes (undefined: a new one). */
type Resolved = { refused: Conflict | NotFound } | { subjectId: string | undefined };

/**
 * The vault's one write rule set, for one write or many in the caller's
 * transaction (a live write is a list of one; an import's batch is a list of
 * hundreds), with the same statements whatever the count: the identifiers'
 * owners, the held subjects, their fields and the app's refs are each read in
 * one statement for the whole list, and the new rows are written a statement
 * per table. The rules: identifiers never merge two people, matching never
 * replaces an identifier, unchanged values are not rewritten, every change is
 * encrypted under the subject's data key, kept in its history and audited. A
 * refused write writes nothing. Two writes of one list that reach the same
 * person (or the same new identifier) are not decided on the same reads: the
 * later one is decided again after the earlier is written.
 */
export async function writeManyInTransaction(vault: Vault, tx: Tx, ctx: RequestContext, writes: SubjectWrite[]): Promise<WriteOutcome[]> {
  const outcomes: Array<WriteOutcome | undefined> = writes.map(() => undefined);
  let pending = writes.map((_, i) => i);
  await store.lockIdentifierIndex(tx, 'write');
  while (pending.length > 0) pending = await writePass(vault, tx, ctx, writes, pending, outcomes);
  return outcomes as WriteOutcome[];
}

/** Decides and writes the pending writes that touch no one another one of them touches; answers those left for the next pass. */
async function writePass(vault: Vault, tx: Tx, ctx: RequestContext, writes: SubjectWrite[], pending: number[], outcomes: Array<WriteOutcome | undefined>): Promise<number[]> {
  const { keys, digestKeys, dataKeyOf, encryptValue, decryptValue, sealTimezone, subjectOfRef } = vault;
  const now = new Date();
  const current = await currentKeyVersion(tx);
  const versions = versionsUpTo(current);
  const lookupsOf = (i: number) => [...writes[i]!.input.identifiers].flatMap(([kind, value]) => digestKeys(kind, value, versions));
  const keyText = (k: store.DigestKey) => `${k.kind}\u0000${k.keyVersion}\u0000${k.digest}`;
  const owner = new Map((await store.findOwnersOfDigests(tx, pending.flatMap(lookupsOf))).map((m) => [keyText(m), m]));

  // Decide whose record each write changes, from the owners of its identifiers.
  const resolved = new Map<number, Resolved>();
  for (const i of pending) {
    const { target } = writes[i]!;
    const owners = new Map<string, Set<string>>();
    for (const key of lookupsOf(i)) {
      const found = owner.get(keyText(key));
      if (found) owners.set(found.subjectId, new Set([...(owners.get(found.subjectId) ?? []), found.kind]));
    }
    let subjectId: string | undefined;
    if (target.kind === 'ref') {
      subjectId = await subjectOfRef(tx, target.appId, target.ref!);
      if (!subjectId) {
        resolved.set(i, { refused: new NotFound('no subject with this ref') });
        continue;
      }
    } else if (target.kind === 'subject') subjectId = target.subjectId;
    const others = [...owners.keys()].filter((id) => id !== subjectId);
    if ((target.kind !== 'match' && others.length > 0) || (target.kind === 'match' && others.length > 1)) {
      const refusal = different();
      refusal.extensions.conflicts = [...owners.values()].map((fields) => ({ fields: [...fields].map((f) => `identifiers.${f}`) }));
      resolved.set(i, { refused: refusal });
      continue;
    }
    resolved.set(i, { subjectId: subjectId ?? others[0] });
  }

  // Writes that would share a person, or a new identifier, with an earlier one wait for the next pass.
  const claimed = new Set<string>();
  const first = new Set<number>();
  const later: number[] = [];
  for (const i of pending) {
    const r = resolved.get(i)!;
    if ('refused' in r) {
      outcomes[i] = { refused: r.refused };
      continue;
    }
    const claims = [...(r.subjectId ? [`s:${r.subjectId}`] : []), ...[...writes[i]!.input.identifiers].map(([kind, value]) => `i:${kind}\u0000${value}`)];
    if (claims.some((c) => claimed.has(c))) later.push(i);
    else {
      claims.forEach((c) => claimed.add(c));
      first.add(i);
    }
  }
  const deciding = pending.filter((i) => first.has(i));

  // The held subjects, read holding their rows (the subject lifecycle rule, see holdSubject): these writes change
  // them last, so they take the lock that change needs now rather than upgrading later, which could deadlock with an
  // erasure waiting for it. Then their fields and the apps' refs, each in one statement.
  const heldIds = [...new Set(deciding.map((i) => (resolved.get(i) as { subjectId?: string }).subjectId).filter((id): id is string => id !== undefined))];
  const held = await store.findSubjectsForWrite(tx, heldIds);
  const fieldNames = [...new Set(deciding.flatMap((i) => [...writes[i]!.input.identifiers.keys(), ...Object.keys(writes[i]!.input.attributes)]))];
  const fields = await store.readFieldsOfSubjects(tx, [...held.keys()], fieldNames);
  const matchApps = [...new Set(deciding.map((i) => writes[i]!.target).flatMap((t) => (t.kind === 'match' ? [t.appId] : [])))];
  const knownRefs = await store.refsOfApps(tx, matchApps, [...held.keys()]);

  const rows = { subjects: [] as store.SubjectRow[], identifiers: [] as Array<store.DigestKey & { subjectId: string }>, fields: [] as Array<{ subjectId: string; field: string; ciphertext: string }> };
  const replacedKinds: Array<{ subjectId: string; kinds: string[] }> = [];
  const removed: Array<{ subjectId: string; field: string }> = [];
  const changes: store.ChangeRow[] = [];
  const touched: Array<{ id: string; timezone: string | undefined }> = [];
  const newRefs: Array<{ ref: string; appId: string; subjectId: string; createdAt: Date }> = [];
  const events: AuditEventInput[] = [];
  for (const i of deciding) {
    const { target, input } = writes[i]!;
    const { identifiers } = input;
    const wanted = (resolved.get(i) as { subjectId?: string }).subjectId;
    let subject: store.SubjectRow;
    let dataKey: Buffer;
    const created = wanted === undefined;
    if (wanted === undefined) {
      dataKey = randomBytes(32);
      const id = newSubjectId();
      subject = { id, timezone: sealTimezone(dataKey, id, input.timezone) ?? null, keyVersion: current, wrappedKey: seal(keys.wrappingKey(current), dataKey, id), createdAt: now, updatedAt: now };
    } else {
      const found = held.get(wanted);
      if (!found) {
        outcomes[i] = { refused: new NotFound(target.kind === 'subject' ? 'no such subject' : 'no subject with this ref') };
        continue;
      }
      subject = found;
      dataKey = dataKeyOf(subject);
    }
    const existing = created ? new Map<string, string>() : (fields.get(subject.id) ?? new Map<string, string>());
    // Matching by identifiers never changes one: a known phone number with a new e-mail address is a
    // conflict, not a silent replacement (a later reveal would go to whoever typed it). Replacing is
    // explicit: PATCH the subject's ref (or an approved correction).
    if (target.kind === 'match') {
      const differing = [...identifiers].filter(([kind, value]) => {
        const before = existing.get(kind);
        return before !== undefined && String(decryptValue(dataKey, subject.id, kind, before)) !== value;
      });
      if (differing.length > 0) {
        outcomes[i] = {
          refused: new Conflict(
            'the identifiers match a person who holds another value for some of them; Custos never replaces an identifier by matching. To replace one, PATCH /v1/subjects/{ref} with it.',
            { conflicts: differing.map(([kind]) => ({ fields: [`identifiers.${kind}`] })), reason: 'identifier-contradicts-held-value' },
          ),
        };
        continue;
      }
    }
    // Whether this app knew the person before: `created` is from the app's point of view, so an app
    // learns nothing about people other apps hold (deduplication happens underneath all the same).
    const appRef = target.kind === 'match' && !created ? knownRefs.get(`${target.appId}\u0000${subject.id}`) : undefined;
    const mine: store.ChangeRow[] = [];
    const record = (field: string, value: unknown) => {
      const before = existing.get(field);
      if (before !== undefined && value !== null && canonicalJson(decryptValue(dataKey, subject.id, field, before)) === canonicalJson(value)) return false;
      if (before === undefined && value === null) return false;
      const ciphertext = value === null ? null : encryptValue(dataKey, subject.id, field, value);
      mine.push({
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
    const kinds: string[] = [];
    for (const [kind, value] of identifiers) {
      if (record(kind, value)) {
        kinds.push(kind);
        rows.identifiers.push({ ...digestKeys(kind, value, [current])[0]!, subjectId: subject.id });
      }
    }
    for (const [field, value] of Object.entries(input.attributes)) record(field, value);
    if (created) rows.subjects.push(subject);
    // A new subject has nothing to replace or remove.
    else {
      if (kinds.length > 0) replacedKinds.push({ subjectId: subject.id, kinds });
      touched.push({ id: subject.id, timezone: sealTimezone(dataKey, subject.id, input.timezone) ?? undefined });
    }
    for (const c of mine) {
      if (c.ciphertext === null) removed.push({ subjectId: subject.id, field: c.field });
      else rows.fields.push({ subjectId: subject.id, field: c.field, ciphertext: c.ciphertext });
    }
    changes.push(...mine);
    let ref: string | undefined = target.kind === 'ref' ? target.ref : undefined;
    if (target.kind === 'match') {
      ref = appRef ?? newRef();
      if (!appRef) newRefs.push({ ref, appId: target.appId, subjectId: subject.id, createdAt: now });
    }
    const changed = mine.map((c) => c.field);
    const purposes = input.eventPurpose === undefined ? [...new Set(changed.map(input.purposeOf))].map((p) => ({ code: 'held-for', detail: p })) : [];
    const replaced = mine.filter((c) => c.change === 'set' && identifiers.has(c.field) && existing.has(c.field)).map((c) => ({ code: 'identifier-replaced', detail: c.field }));
    events.push({
      action: created ? (input.createAction ?? 'subjects.subject.create') : input.action,
      decision: 'allow',
      subject: subject.id,
      purpose: input.eventPurpose,
      fields: changed,
      reasons: [...(input.reasons ?? []), ...(changed.length === 0 ? [{ code: 'no-change' }] : [...purposes, ...replaced])],
    });
    outcomes[i] = { result: { ref, subjectId: subject.id, created: target.kind === 'match' ? appRef === undefined : created, isNew: created, changed } };
  }

  await store.insertSubjects(tx, rows.subjects);
  await store.deleteIdentifierKinds(tx, replacedKinds);
  await store.insertIdentifiers(tx, rows.identifiers);
  await store.removeFields(tx, removed);
  await store.writeFieldsOfSubjects(tx, rows.fields, now);
  await store.insertChanges(tx, changes);
  await store.touchSubjects(tx, touched, now);
  await store.insertRefs(tx, newRefs);
  await appendAuditEvents(tx, ctx, events);
  return later;
}
