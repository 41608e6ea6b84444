import { hash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import type { AuditReason } from './schema.ts';
import type { NewAuditRow } from './store.ts';

export const GENESIS_CHAIN_HASH = '0'.repeat(64);

/** What a leaf commits to: the event (its JSON columns parsed) and its place in the log. */
export type LeafContent = Omit<NewAuditRow, 'fields' | 'reasons'> & { index: number; fields: string[]; reasons: AuditReason[] };

/**
 * The entry of a leaf: the event as RFC 8785 canonical JSON (keys sorted by
 * UTF-16 code units, no white space), UTF-8 encoded. The README documents
 * these members so that an auditor can recompute every leaf in any language.
 */
export function leafEntry(e: LeafContent): Buffer {
  return Buffer.from(leafEntryText(e), 'utf8');
}

/** SHA-256(0x00 || entry) from the entry text: U+0000 encodes in UTF-8 as the single byte 0x00. */
function hashEntryText(entry: string): string {
  return hash('sha256', `\u0000${entry}`, 'hex');
}

// Printable ASCII without quote or backslash serializes as itself between quotes; anything else goes through JSON.stringify.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const text = (value: string | null): string => (value === null ? 'null' : PLAIN.test(value) ? `"${value}"` : JSON.stringify(value));

/**
 * The canonical JSON of the leaf written out member by member, in sorted key
 * order: the same text canonicalJson gives (a test pins them together), at a
 * fraction of its cost, since `custos audit verify` recomputes a million of them.
 */
export function leafEntryText(e: LeafContent): string {
  let reasons = '[';
  for (let i = 0; i < e.reasons.length; i++) {
    const r = e.reasons[i]!;
    if (i > 0) reasons += ',';
    const keys = Object.keys(r);
    const plain = keys.every((k) => k === 'code' || k === 'detail') && typeof r.code === 'string' && (r.detail === undefined || typeof r.detail === 'string');
    reasons += plain ? `{"code":${text(r.code)}${r.detail === undefined ? '' : `,"detail":${text(r.detail)}`}}` : canonicalJson(r);
  }
  reasons += ']';
  return (
    `{"action":${text(e.action)},"actor":{"id":${text(e.actorId)},"type":${text(e.actorType)}},"at":${text(e.at.toISOString())},` +
    `"decision":${text(e.decision)},"fields":${canonicalJson(e.fields)},"id":${text(e.id)},"index":${e.index},` +
    `"policyVersion":${text(e.policyVersion)},"purpose":${text(e.purpose)},"reasons":${reasons},"requestId":${text(e.requestId)},` +
    `"subject":${text(e.subject)},"v":2}`
  );
}

/** What a stored event commits to at leaf `index`. */
export function leafContentOf(row: NewAuditRow, index: number): LeafContent {
  return {
    index,
    id: row.id,
    at: row.at,
    actorType: row.actorType,
    actorId: row.actorId,
    action: row.action,
    decision: row.decision,
    subject: row.subject,
    purpose: row.purpose,
    fields: row.fields === '[]' ? [] : (JSON.parse(row.fields) as string[]),
    reasons: row.reasons === '[]' ? [] : (JSON.parse(row.reasons) as AuditReason[]),
    requestId: row.requestId,
    policyVersion: row.policyVersion,
  };
}

/** RFC 9162 leaf hash of the event, hex. */
export function leafHashOf(e: LeafContent): string {
  return hashEntryText(leafEntryText(e));
}

/** Each event's chain hash commits to every event before it: SHA-256(previous chain hash || leaf hash). */
export function chainHash(previous: string, leaf: string): string {
  return hash('sha256', Buffer.from(previous + leaf, 'hex'), 'hex');
}
