import type { FieldDefinition } from '../policies/schema.ts';
import { identifierTag } from './derive.ts';
import { normalizeIdentifier } from './normalize.ts';

/** Everything needed to normalize and tag values of one identifier field, plain data so it can cross to a worker thread. */
export interface TaggingSpec {
  kind: string;
  definition: FieldDefinition;
  region: string;
  keyVersion: number;
  key: Uint8Array;
}

export interface TaggedValues {
  /** Tags of the values that normalized, in input order (invalid ones left out). */
  tags: BigInt64Array;
  invalid: number;
}

/** Normalizes each value as the vault does and tags it under the spec's key; values that do not normalize are counted, not tagged. */
export function tagIdentifiers(spec: TaggingSpec, values: readonly string[]): TaggedValues {
  const key = Buffer.from(spec.key);
  const tags = new BigInt64Array(values.length);
  let count = 0;
  for (const value of values) {
    const normalized = normalizeIdentifier(spec.definition, value, spec.region);
    if ('value' in normalized) tags[count++] = identifierTag(key, spec.kind, normalized.value);
  }
  return { tags: tags.subarray(0, count), invalid: values.length - count };
}
