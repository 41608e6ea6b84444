import { currentKeyVersion } from '../key-ring/store.ts';
import { isRefShaped } from '../pseudonyms/derive.ts';
import * as store from './store.ts';
import { versionsUpTo, type Vault } from './vault.ts';

/**
 * What contact authorization needs of a subject: its time zone and, when a
 * field is named, that identifier's current value (decrypted only then).
 */
export async function contactDetails(vault: Vault, subjectId: string, field: string | undefined): Promise<{ timezone: string | null; value: string | null } | undefined> {
  const { db, dataKeyOf, decryptValue, openTimezone } = vault;
  const found = await store.readSubjectById(db, subjectId, field ?? null);
  if (!found) return undefined;
  const dataKey = found.timezone || (found.ciphertext !== null && field) ? dataKeyOf(found) : undefined;
  return { timezone: openTimezone(found, dataKey), value: found.ciphertext === null || !field ? null : String(decryptValue(dataKey!, subjectId, field, found.ciphertext)) };
}

/**
 * The same for an app's ref, in the one joined read a ref takes (ref, subject,
 * field): contact authorization starts here. Undefined for a ref the app does
 * not hold.
 */
export async function contactDetailsOfRef(
  vault: Vault,
  appId: string,
  ref: string,
  field: string | undefined,
): Promise<{ subjectId: string; timezone: string | null; value: string | null } | undefined> {
  if (!isRefShaped(ref)) return undefined;
  const { db, dataKeyOf, decryptValue, openTimezone } = vault;
  const found = await store.readSubjectByRef(db, ref, field ? [field] : []);
  if (!found || found.subject.appId !== appId) return undefined;
  const { subject } = found;
  const ciphertext = field ? (found.fields.get(field) ?? null) : null;
  const dataKey = subject.timezone || ciphertext !== null ? dataKeyOf(subject) : undefined;
  return { subjectId: subject.id, timezone: openTimezone(subject, dataKey), value: ciphertext === null ? null : String(decryptValue(dataKey!, subject.id, field!, ciphertext)) };
}

/**
 * Campaign scrubbing in bulk: for each of the app's refs, the subject id, time
 * zone and, when a field is named, that identifier's pseudonyms (every key
 * version). Refs of other apps and unknown refs are absent from the answer.
 */
export async function contactDetailsByRefs(
  vault: Vault,
  appId: string,
  refs: string[],
  field: string | undefined,
): Promise<Map<string, { subjectId: string; timezone: string | null; digests: string[] }>> {
  const { db, dataKeyOf, decryptValue, digestKeys, openTimezone } = vault;
  const rows = await store.readSubjectsByRefs(db, appId, refs.filter(isRefShaped), field ?? null);
  const versions = versionsUpTo(await currentKeyVersion(db.read));
  const out = new Map<string, { subjectId: string; timezone: string | null; digests: string[] }>();
  for (const [ref, row] of rows) {
    let digests: string[] = [];
    const dataKey = row.timezone || (row.ciphertext !== null && field) ? dataKeyOf(row) : undefined;
    if (row.ciphertext !== null && field) {
      const value = String(decryptValue(dataKey!, row.id, field, row.ciphertext));
      digests = digestKeys(field, value, versions).map((k) => k.digest);
    }
    out.set(ref, { subjectId: row.id, timezone: openTimezone(row, dataKey), digests });
  }
  return out;
}
