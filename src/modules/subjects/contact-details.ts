import { currentKeyVersion } from '../key-ring/store.ts';
import { isRefShaped } from '../pseudonyms/derive.ts';
import type { AlongsideColumns, ReadAlongside } from '../../storage/alongside.ts';
import * as store from './store.ts';
import { versionsUpTo, type Vault } from './vault.ts';

type Details = { timezone: string | null; value: string | null };

/**
 * A subject's time zone and one field's current value, decrypted; the data key
 * is unwrapped only when one of them needs it.
 */
function openDetails(vault: Vault, subject: Pick<store.SubjectRow, 'id' | 'keyVersion' | 'wrappedKey' | 'timezone'>, field: string | undefined, ciphertext: string | null): Details {
  const dataKey = subject.timezone || (ciphertext !== null && field) ? vault.dataKeyOf(subject) : undefined;
  return { timezone: vault.openTimezone(subject, dataKey), value: ciphertext === null || !field ? null : String(vault.decryptValue(dataKey!, subject.id, field, ciphertext)) };
}

/**
 * What contact authorization needs of a subject: its time zone and, when a
 * field is named, that identifier's current value (decrypted only then).
 */
export async function contactDetails(vault: Vault, subjectId: string, field: string | undefined): Promise<Details | undefined> {
  const found = await store.readSubjectById(vault.db, subjectId, field ?? null);
  return found && openDetails(vault, found, field, found.ciphertext);
}

/**
 * The same for an app's ref, in the one joined read a ref takes (ref, subject,
 * field, and what the caller reads alongside): contact authorization starts
 * here. Undefined for a ref the app does not hold.
 */
export async function contactDetailsOfRef<A extends AlongsideColumns>(
  vault: Vault,
  appId: string,
  ref: string,
  field: string | undefined,
  alongside: A,
): Promise<(Details & { subjectId: string; alongside: ReadAlongside<A> }) | undefined> {
  if (!isRefShaped(ref)) return undefined;
  const found = await store.readSubjectByRef(vault.db, ref, field ? [field] : [], alongside);
  if (!found || found.subject.appId !== appId) return undefined;
  return { subjectId: found.subject.id, alongside: found.alongside, ...openDetails(vault, found.subject, field, field ? (found.fields.get(field) ?? null) : null) };
}

/** What bulk contact decisions read of a ref: see contactDetailsByRefs. */
export type BulkContactDetails = { subjectId: string; timezone: string | null; digests: string[]; value: string | null };

/**
 * Campaign scrubbing in bulk: for each of the app's refs, the subject id, time
 * zone and, when a field is named, that identifier's pseudonyms (every key
 * version) and its value (for a suppression list of hashed numbers; never
 * sent as it is). Refs of other apps and unknown refs are absent from the answer.
 */
export async function contactDetailsByRefs(vault: Vault, appId: string, refs: string[], field: string | undefined): Promise<Map<string, BulkContactDetails>> {
  const { db, digestKeys } = vault;
  const rows = await store.readSubjectsByRefs(db, appId, refs.filter(isRefShaped), field ?? null);
  const versions = versionsUpTo(await currentKeyVersion(db.read));
  const out = new Map<string, BulkContactDetails>();
  for (const [ref, row] of rows) {
    const { timezone, value } = openDetails(vault, row, field, row.ciphertext);
    out.set(ref, { subjectId: row.id, timezone, digests: value === null ? [] : digestKeys(field!, value, versions).map((k) => k.digest), value });
  }
  return out;
}
