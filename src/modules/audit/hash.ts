import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an event that its hashes commit to. */
export interface HashedEventContent {
  seq: bigint;
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  decision: string;
  subject: string | null;
  purpose: string | null;
  fields: string[];
  reasons: Array<{ code: string; detail?: string }>;
  requestId: string | null;
  policyVersion: string;
}

/** The bytes of an event as a leaf of the audit log (also the future RFC 9162 Merkle tree). */
export function leafBytes(e: HashedEventContent): Buffer {
  return Buffer.from(canonicalJson({ v: 1, ...e, seq: e.seq.toString(), at: e.at.toISOString() }), 'utf8');
}

/** RFC 9162 section 2.1.1 leaf hash: SHA-256(0x00 || leaf). */
export function leafHash(e: HashedEventContent): string {
  return createHash('sha256').update(Buffer.from([0])).update(leafBytes(e)).digest('hex');
}

/** Each event's chain hash commits to every event before it. */
export function chainHash(previous: string, leaf: string): string {
  return createHash('sha256').update(Buffer.from(previous, 'hex')).update(Buffer.from(leaf, 'hex')).digest('hex');
}
