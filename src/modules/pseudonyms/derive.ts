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
