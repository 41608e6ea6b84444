import { splitPoint } from './hashes.ts';
import type { LeafRange } from './subtrees.ts';

/**
 * The ranges whose MTH form the inclusion proof PATH(m, D[0:n]) of RFC 9162
 * section 2.1.3.1, in proof order (the sibling nearest the leaf first).
 * Needs 0 <= m < n.
 */
export function inclusionProofRanges(m: number, n: number): LeafRange[] {
  const out: LeafRange[] = [];
  let start = 0;
  let end = n;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < start + k) {
      out.push({ start: start + k, end });
      end = start + k;
    } else {
      out.push({ start, end: start + k });
      start += k;
    }
  }
  return out.reverse();
}

/**
 * The ranges whose MTH form the consistency proof PROOF(m, D[0:n]) of RFC 9162
 * section 2.1.4.1 (SUBPROOF with b = true), in proof order. Needs 0 < m <= n.
 */
export function consistencyProofRanges(m: number, n: number): LeafRange[] {
  const out: LeafRange[] = [];
  let start = 0;
  let end = n;
  let remaining = m;
  let complete = true;
  while (remaining !== end - start) {
    const k = splitPoint(end - start);
    if (remaining <= k) {
      out.push({ start: start + k, end });
      end = start + k;
    } else {
      out.push({ start, end: start + k });
      start += k;
      remaining -= k;
      complete = false;
    }
  }
  if (!complete) out.push({ start, end });
  return out.reverse();
}
