import { hashChildren, splitPoint } from './hashes.ts';

/**
 * A perfect subtree: the 2^level leaves from index << level. Its hash never
 * changes once its last leaf exists, so it can be stored or cached for good.
 */
export interface PerfectNode {
  level: number;
  index: number;
}

/** The half-open leaf range [start, end) whose Merkle tree hash (MTH) a proof needs. */
export interface LeafRange {
  start: number;
  end: number;
}

/**
 * The perfect subtrees whose hashes make up MTH(D[start:end]), left to right,
 * as RFC 9162 splits the range (the largest power of two first, then the rest).
 * Every range that appears in an RFC 9162 proof starts on a multiple of its
 * split, so each left part is perfect; a range that does not is a caller bug.
 */
export function perfectNodesOf(range: LeafRange): PerfectNode[] {
  const nodes: PerfectNode[] = [];
  let { start } = range;
  const { end } = range;
  while (start < end) {
    const size = end - start;
    const k = (size & (size - 1)) === 0 ? size : splitPoint(size);
    const level = Math.log2(k);
    if (start % k !== 0) throw new Error(`range [${range.start}, ${range.end}) is not aligned to its subtrees`);
    nodes.push({ level, index: start / k });
    start += k;
  }
  return nodes;
}

/** MTH of a range from the hashes of its perfect subtrees (as perfectNodesOf lists them): folded right to left. */
export function rangeHash(parts: Buffer[]): Buffer {
  let hash = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) hash = hashChildren(parts[i]!, hash);
  return hash;
}
