import { createHmac, randomBytes } from 'node:crypto';

/**
 * Keyed HMAC-SHA-256 of a normalized identifier. Phone numbers and e-mail
 * addresses are guessable, so a plain hash would be reversible by enumeration;
 * without the key, the digest reveals nothing.
 */
export function identifierDigest(key: Buffer, kind: string, normalized: string): string {
  // One update of the joined string: each update() call costs about as much as the hashing itself here.
  return createHmac('sha256', key).update(`${kind}\u0000${normalized}`).digest('base64url');
}

/**
 * The first 64 bits of an identifier digest as a signed integer: what bulk
 * lists (do-not-call registries of millions of numbers) store instead of the
 * whole digest, so a list is 8 bytes a number and sorts and indexes as an
 * integer. With 10 million numbers on a list, the chance that an unlisted
 * number matches one is about 5 in 10^13 per lookup, and such a match can only
 * block a contact, never allow one.
 */
export function identifierTag(key: Buffer, kind: string, normalized: string): bigint {
  return createHmac('sha256', key).update(`${kind}\u0000${normalized}`).digest().readBigInt64BE(0);
}

/** The tag of a digest from identifierDigest: same identifier, same key, same tag. */
export function tagOfDigest(digest: string): bigint {
  return Buffer.from(digest, 'base64url').readBigInt64BE(0);
}

/** What an app sees instead of an identifier value: stable for that app, useless to any other. */
export function appPseudonym(key: Buffer, appId: string, kind: string, normalized: string): string {
  return `psn_${createHmac('sha256', key).update(appId).update('\u0000').update(kind).update('\u0000').update(normalized).digest('base64url').slice(0, 27)}`;
}

/** Refs are random, not derived: nothing about the person or the app can be computed from one. */
export function newRef(): string {
  return `ref_${randomBytes(16).toString('base64url')}`;
}

export const REF_PATTERN = /^ref_[A-Za-z0-9_-]{22}$/;

export function newSubjectId(): string {
  return `sub_${randomBytes(16).toString('base64url')}`;
}

export const isRefShaped = (value: string): boolean => REF_PATTERN.test(value);
