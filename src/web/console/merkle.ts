/**
 * RFC 9162 consistency-proof verification (section 2.1.4.2) for the browser,
 * with WebCrypto's SHA-256: the same algorithm as src/modules/audit/merkle/verify.ts,
 * asynchronous because WebCrypto is.
 */
const sha256 = async (data: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', data as BufferSource));

async function hashChildren(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  const data = new Uint8Array(1 + left.length + right.length);
  data[0] = 0x01;
  data.set(left, 1);
  data.set(right, 1 + left.length);
  return sha256(data);
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
export const fromHex = (hex: string) => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));

export async function verifyConsistency(first: number, second: number, proof: Uint8Array[], firstRoot: Uint8Array, secondRoot: Uint8Array): Promise<boolean> {
  if (first > second || first < 1) return false;
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot);
  let path = proof;
  // When `first` is a power of two, its root is the first node of the path.
  if ((first & (first - 1)) === 0) path = [firstRoot, ...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, firstRoot) && equal(sr, secondRoot);
}

/** RFC 9162 section 2.1.3.2, as verifyInclusion in src/modules/audit/merkle/verify.ts. */
export async function verifyInclusion(index: number, treeSize: number, leafHash: Uint8Array, path: Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/** What an audit event looks like over the API: the members a leaf commits to. */
export interface LeafEvent {
  leafIndex: number | null;
  id: string;
  at: string;
  actor: { type: string; id: string | null };
  action: string;
  decision: string;
  subject: string | null;
  purpose: string | null;
  fields: string[];
  reasons: Array<{ code: string; detail?: string }>;
  requestId: string | null;
  policyVersion: string;
}

/**
 * The leaf hash recomputed from the event itself: SHA-256(0x00 || entry), the
 * entry being the event as RFC 8785 canonical JSON (members in sorted order,
 * as the README's leaf format says), so the browser trusts no hash it was handed.
 */
export async function leafHashOf(e: LeafEvent): Promise<Uint8Array> {
  const reasons = e.reasons.map((r) => (r.detail === undefined ? { code: r.code } : { code: r.code, detail: r.detail }));
  const entry = JSON.stringify({
    action: e.action,
    actor: { id: e.actor.id, type: e.actor.type },
    at: e.at,
    decision: e.decision,
    fields: e.fields,
    id: e.id,
    index: e.leafIndex,
    policyVersion: e.policyVersion,
    purpose: e.purpose,
    reasons,
    requestId: e.requestId,
    subject: e.subject,
    v: 2,
  });
  const bytes = new TextEncoder().encode(entry);
  const data = new Uint8Array(bytes.length + 1);
  data.set(bytes, 1);
  return sha256(data);
}

export const toHex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
