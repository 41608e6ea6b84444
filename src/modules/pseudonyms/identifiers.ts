import type { Database } from '../../storage/database.ts';
import type { KeyRing } from '../key-ring/key-ring.ts';
import type { ScalarAlongside } from '../../storage/alongside.ts';
import { currentKeyVersion, currentKeyVersionAlongside, noKeyVersionAfter } from '../key-ring/store.ts';
import type { SqlStatement } from '../../storage/raw-sql.ts';
import type { FieldDefinition, Policy } from '../policies/schema.ts';
import { identifierDigest } from './derive.ts';
import { createIdentifierTagger, type IdentifierTagger } from './identifier-tagger.ts';
import { normalizeIdentifier, type Normalized } from './normalize.ts';

export interface DigestKey {
  kind: string;
  keyVersion: number;
  digest: string;
}

export const versionsUpTo = (current: number) => Array.from({ length: current }, (_, i) => i + 1);

/**
 * Identifier pseudonyms for every module that matches people by an identifier
 * (the vault, contacts, do-not-call lists): one normalization, one keyed
 * digest per key version, one tagging for registries of millions. Subjects,
 * contacts and imports depend on this, not on each other.
 */
export function createIdentifierPseudonyms(deps: { db: Database; policy: Policy; keys: KeyRing }) {
  const { db, policy, keys } = deps;
  const definitionOf = (field: string): FieldDefinition => policy.fields[field] ?? { kind: 'identifier', sensitive: false };

  function digestKeys(kind: string, value: string, versions: number[]): DigestKey[] {
    return versions.map((keyVersion) => ({ kind, keyVersion, digest: identifierDigest(keys.identifierKey(keyVersion), kind, value) }));
  }

  // The newest key version a lookup has seen; versions are only ever added (rotation).
  let seenVersion = 1;

  return {
    digestKeys,
    /**
     * A lookup by a value's pseudonyms with no statement first for the key
     * version: digests are made for every version up to the newest seen, and
     * the lookup reads the current version in its own statement (`version`).
     * If a rotation added one since, the lookup runs again with its digest
     * too, so a match under the new version is never missed.
     */
    async lookupByDigests<T>(field: string, normalized: string, lookup: (digests: string[], version: ScalarAlongside<number>) => Promise<{ found: T; version: number }>): Promise<T> {
      for (;;) {
        const upTo = seenVersion;
        const { found, version } = await lookup(
          digestKeys(field, normalized, versionsUpTo(upTo)).map((k) => k.digest),
          currentKeyVersionAlongside,
        );
        seenVersion = Math.max(seenVersion, version);
        if (version <= upTo) return found;
      }
    },
    /**
     * lookupByDigests for a write that checks the lookup itself, in its own
     * statement (Database.writeAlone with guards): the lookup's guard over the digests
     * of every version up to the newest seen, and a guard that no newer
     * version exists. If one does, the write is refused and the caller looks
     * up with lookupByDigests, which learns the new version.
     */
    guardByDigests(field: string, normalized: string, guard: (digests: string[]) => SqlStatement): SqlStatement[] {
      return [guard(digestKeys(field, normalized, versionsUpTo(seenVersion)).map((k) => k.digest)), noKeyVersionAfter(seenVersion)];
    },
    /** The form an identifier is matched, pseudonymized and stored in. */
    normalize: (field: string, raw: string): Normalized => normalizeIdentifier(definitionOf(field), raw, policy.defaults.region),
    /** Pseudonyms of a normalized value under every key version up to the current one (lookups match any). */
    async digestsOf(field: string, normalized: string): Promise<string[]> {
      return digestKeys(field, normalized, versionsUpTo(await currentKeyVersion(db.read))).map((k) => k.digest);
    },
    /** The pseudonym under the current key version (what new rows store). */
    currentDigest: async (field: string, normalized: string): Promise<DigestKey> => digestKeys(field, normalized, [await currentKeyVersion(db.read)])[0]!,
    /** For registries of millions of values: normalizes and tags them (see identifierTag) on `threads` worker threads. */
    async tagger(field: string, threads: number): Promise<IdentifierTagger> {
      const version = await currentKeyVersion(db.read);
      return createIdentifierTagger({ kind: field, definition: definitionOf(field), region: policy.defaults.region, keyVersion: version, key: keys.identifierKey(version) }, threads);
    },
  };
}

export type IdentifierPseudonyms = ReturnType<typeof createIdentifierPseudonyms>;
