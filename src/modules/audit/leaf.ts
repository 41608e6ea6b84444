import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { hashLeaf } from './merkle/hashes.ts';
import type { AuditReason } from './schema.ts';
import type { NewAuditRow } from './store.ts';

export const GENESIS_CHAIN_HASH = '0'.repeat(64);

/** What a leaf commits to: the event and its place in the log. */
export interface LeafContent {
  index: number;
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  decision: string;
  subject: string | null;
  purpose: string | null;
  fields: string[];
  reasons: AuditReason[];
  requestId: string | null;
  policyVersion: string;
}

/**
 * The entry of a leaf: the event as RFC 8785 canonical JSON (keys sorted by
 * UTF-16 code units, no white space), UTF-8 encoded. The README documents
 * these members so that an auditor can recompute every leaf in any language.
 */
export function leafEntry(e: LeafContent): Buffer {
  return Buffer.from(
    canonicalJson({
      v: 2,
      index: e.index,
      id: e.id,
      at: e.at.toISOString(),
      actor: { type: e.actorType, id: e.actorId },
      action: e.action,
      decision: e.decision,
      subject: e.subject,
      purpose: e.purpose,
      fields: e.fields,
      reasons: e.reasons,
      requestId: e.requestId,
      policyVersion: e.policyVersion,
    }),
    'utf8',
  );
}

/** What a stored event commits to at leaf `index`. */
export function leafContentOf(row: NewAuditRow, index: number): LeafContent {
  return { ...row, index, fields: JSON.parse(row.fields) as string[], reasons: JSON.parse(row.reasons) as AuditReason[] };
}

/** RFC 9162 leaf hash of the event, hex. */
export function leafHashOf(e: LeafContent): string {
  return hashLeaf(leafEntry(e)).toString('hex');
}

/** Each event's chain hash commits to every event before it: SHA-256(previous chain hash || leaf hash). */
export function chainHash(previous: string, leaf: string): string {
  return createHash('sha256').update(Buffer.from(previous, 'hex')).update(Buffer.from(leaf, 'hex')).digest('hex');
}
