import { randomBytes, randomUUID } from 'node:crypto';
import { seal } from '../../crypto/envelope.ts';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { Conflict, InvalidIdentifier, NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { isUniqueViolation } from '../../storage/database.ts';
import { appendAuditEvent } from '../audit/service.ts';
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
  const { db, policy, keys, refuse, violationError, normalizeAll, digestKeys, dataKeyOf, encryptValue, decryptValue, refFor, subjectOfRef } = vault;
  const identifierNames = Object.keys(input.identifiers);
  const attributeNames = Object.keys(input.attributes);
  const named = [...identifierNames, ...attributeNames];
  const action = ref ? 'subjects.subject.update' : 'subjects.subject.write';
  const violations = collectionViolations(policy, caller.purposes, input.purpose, identifierNames, attributeNames);
  if (violations.length > 0) return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: violations.map((v) => ({ code: v.reason, detail: v.field })) }, violationError(violations));
  const { values: identifiers, problems } = normalizeAll(input.identifiers);
  if (problems.length > 0) return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: problems.map((p) => ({ code: 'invalid-identifier', detail: p.path })) }, new InvalidIdentifier(problems));

  const attempt = () =>
    db.transaction(async (tx) => {
      const now = new Date();
      await store.lockIdentifierIndex(tx, db.kind, 'write');
      const current = await currentKeyVersion(tx);
      const lookups = [...identifiers].flatMap(([kind, value]) => digestKeys(kind, value, versionsUpTo(current)));
      const owners = new Map<string, string[]>();
      for (const match of await store.findByDigests(tx, lookups)) {
        owners.set(match.subjectId, [...new Set([...(owners.get(match.subjectId) ?? []), match.kind])]);
      }

      let subjectId: string | undefined;
      if (ref) {
        subjectId = await subjectOfRef(tx, caller.clientId, ref);
        if (!subjectId) return { refused: new NotFound('no subject with this ref'), result: undefined };
      }
      const others = [...owners.keys()].filter((id) => id !== subjectId);
      if ((ref && others.length > 0) || (!ref && others.length > 1)) {
        const groups = [...owners.entries()].map(([id, fields]) => ({ fields, subject: id === subjectId ? 'this' : 'another' }));
        return {
          refused: new Conflict('these identifiers belong to different people; Custos never merges subjects silently. Correct the identifiers or update each subject separately.', {
            conflicts: groups.map((g) => ({ fields: g.fields.map((f) => `identifiers.${f}`) })),
          }),
          result: undefined,
        };
      }
      subjectId ??= others[0];

      let subject: store.SubjectRow;
      let dataKey: Buffer;
      const created = subjectId === undefined;
      if (subjectId === undefined) {
        dataKey = randomBytes(32);
        const id = newSubjectId();
        subject = { id, timezone: input.timezone ?? null, keyVersion: current, wrappedKey: seal(keys.wrappingKey(current), dataKey, id), createdAt: now, updatedAt: now };
        await store.insertSubject(tx, subject);
      } else {
        subject = (await store.findSubject(tx, subjectId))!;
        dataKey = dataKeyOf(subject);
      }

      const existing = created ? new Map<string, string>() : await store.readFields(tx, subject.id, named);
      const changes: store.ChangeRow[] = [];
      const record = (field: string, value: unknown) => {
        const before = existing.get(field);
        if (before !== undefined && value !== null && canonicalJson(decryptValue(dataKey, subject.id, field, before)) === canonicalJson(value)) return false;
        if (before === undefined && value === null) return false;
        const ciphertext = value === null ? null : encryptValue(dataKey, subject.id, field, value);
        changes.push({ id: randomUUID(), subjectId: subject.id, field, change: value === null ? 'remove' : 'set', ciphertext, purpose: input.purpose, actorId: ctx.actor.id ?? null, requestId: ctx.requestId, changedAt: now });
        return true;
      };
      for (const [kind, value] of identifiers) {
        if (record(kind, value)) await store.replaceIdentifier(tx, subject.id, digestKeys(kind, value, [current])[0]!);
      }
      for (const [field, value] of Object.entries(input.attributes)) record(field, value);
      for (const change of changes) {
        if (change.ciphertext === null) await store.removeField(tx, subject.id, change.field);
        else await store.writeField(tx, subject.id, change.field, change.ciphertext, now);
      }
      await store.insertChanges(tx, changes);
      if (!created) await store.touchSubject(tx, subject.id, now, input.timezone);
      const subjectRef = ref ?? (await refFor(tx, caller.clientId, subject.id, now));
      const changed = changes.map((c) => c.field);
      await appendAuditEvent(tx, ctx, {
        action: created ? 'subjects.subject.create' : action,
        decision: 'allow',
        subject: subject.id,
        purpose: input.purpose,
        fields: changed,
        reasons: changed.length === 0 ? [{ code: 'no-change' }] : [],
      });
      return { result: { ref: subjectRef, created, changed }, refused: undefined };
    });

  let outcome;
  try {
    outcome = await attempt();
  } catch (error) {
    // Two requests created the same new person at once; the loser retries and merges into the winner.
    if (!isUniqueViolation(error) && !isUniqueViolation((error as { cause?: unknown }).cause)) throw error;
    outcome = await attempt();
  }
  if (outcome.refused) {
    return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: [{ code: outcome.refused.code }] }, outcome.refused);
  }
  return outcome.result!;
}

