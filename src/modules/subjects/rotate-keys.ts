import { seal } from '../../crypto/envelope.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { addKeyVersion, currentKeyVersion } from '../key-ring/store.ts';
import * as store from './store.ts';
import type { Vault } from './vault.ts';

// Rotation lives with the subjects because it rewrites the subjects' own rows (data keys and
// identifier pseudonyms); the key ring itself only derives keys.
const ROTATION_PAGE_SIZE = 500;

/**
 * `custos keys rotate`: adds a key version, then re-wraps every subject's data
 * key and re-computes its identifier pseudonyms under it, page by page. Refs
 * are random and stored, so they do not change. Lookups try every version up
 * to the current one, so they keep working while the rotation runs.
 */
export async function rotateKeys(vault: Vault, ctx: RequestContext, onProgress?: (done: number) => void): Promise<{ version: number; subjects: number }> {
  const { db, keys, digestKeys, dataKeyOf, decryptValue } = vault;
  const version = await db.transaction(async (tx) => {
    await store.lockIdentifierIndex(tx, 'rotate');
    const next = (await currentKeyVersion(tx)) + 1;
    await addKeyVersion(tx, next, new Date());
    await appendAuditEvent(tx, ctx, { action: 'keys.version.add', decision: 'info', reasons: [{ code: 'version', detail: String(next) }] });
    return next;
  });
  const kinds = vault.identifierFields();
  let done = 0;
  for (let after = ''; ;) {
    const page = await store.subjectPage(db.read, after, ROTATION_PAGE_SIZE);
    if (page.length === 0) break;
    after = page.at(-1)!.id;
    await db.transaction(async (tx) => {
      await store.lockIdentifierIndex(tx, 'rotate');
      // Re-read inside the transaction: a writer may have changed a subject since the page was read.
      const subjects = (await Promise.all(page.map((p) => store.findSubject(tx, p.id)))).filter((x): x is store.SubjectRow => x !== undefined && x.keyVersion < version);
      const sealed = await store.fieldsOfSubjects(
        tx,
        subjects.map((x) => x.id),
        kinds,
      );
      const identifiers: Array<store.DigestKey & { subjectId: string }> = [];
      const dataKeys = new Map<string, Buffer>();
      for (const subject of subjects) {
        const dataKey = dataKeyOf(subject);
        dataKeys.set(subject.id, dataKey);
        await store.rewrapSubject(tx, subject.id, version, seal(keys.wrappingKey(version), dataKey, subject.id));
      }
      for (const field of sealed) {
        const value = String(decryptValue(dataKeys.get(field.subjectId)!, field.subjectId, field.field, field.ciphertext));
        identifiers.push({ ...digestKeys(field.field, value, [version])[0]!, subjectId: field.subjectId });
      }
      await store.reindexSubjects(
        tx,
        subjects.map((x) => x.id),
        identifiers,
      );
    });
    done += page.length;
    onProgress?.(done);
  }
  await db.transaction((tx) =>
    appendAuditEvent(tx, ctx, {
      action: 'keys.rotation.complete',
      decision: 'info',
      reasons: [
        { code: 'subjects', detail: String(done) },
        { code: 'version', detail: String(version) },
      ],
    }),
  );
  return { version, subjects: done };
}
