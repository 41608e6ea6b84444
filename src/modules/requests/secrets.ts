import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * The secrets a customer holds for a request: a status token (to follow it
 * and download the export) and a one-time code (to prove the identifier).
 * Custos keeps only keyed hashes of both, so a copy of the database cannot
 * answer for anyone.
 */
export const CODE_DIGITS = 6;
export const CODE_LIFETIME_MS = 10 * 60 * 1000;
export const CODE_MAX_ATTEMPTS = 5;

export const newRequestId = () => `prq_${randomBytes(16).toString('base64url')}`;
export const REQUEST_ID = /^prq_[A-Za-z0-9_-]{22}$/;

export const newStatusToken = () => `prt_${randomBytes(32).toString('base64url')}`;
export const STATUS_TOKEN = /^prt_[A-Za-z0-9_-]{43}$/;

export const newCode = () => String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');

export function tokenHash(key: Buffer, token: string): string {
  return createHmac('sha256', key).update(`status-token\u0000${token}`).digest('base64url');
}

/** Who submitted, as a keyed hash of the client address: comparable within this deployment, never the address. */
export function submitterHash(key: Buffer, address: string): string {
  return createHmac('sha256', key).update(`submitter\u0000${address}`).digest('base64url').slice(0, 22);
}

/** Bound to the request, so a code hash copied to another request does not verify there. */
export function codeHash(key: Buffer, requestId: string, code: string): string {
  return createHmac('sha256', key).update(`code\u0000${requestId}\u0000${code}`).digest('base64url');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
