import { createHash } from 'node:crypto';
import { Frontier } from '../../src/modules/audit/merkle/frontier.ts';
import { consistencyProofRanges, inclusionProofRanges } from '../../src/modules/audit/merkle/proofs.ts';
import { perfectNodesOf, rangeHash } from '../../src/modules/audit/merkle/subtrees.ts';
import { verifyConsistency, verifyInclusion } from '../../src/modules/audit/merkle/verify.ts';

/**
 * A minimal reference written from RFC 9162 section 2.1 alone, recursive and
 * slow, sharing no code with src/: MTH, PATH and PROOF/SUBPROOF as the RFC
 * states them.
 */
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const leafOf = (entry: Buffer) => sha(Buffer.from([0]), entry);
function k(n: number): number {
  let x = 1;
  while (x << 1 < n) x <<= 1;
  return x;
}
// Memoized by (first entry, length) only to keep the suite fast; entries are unique.
const memo = new Map<string, Buffer>();
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return leafOf(d[0]!);
  const key = `${d[0]!.toString()}|${d.length}`;
  const known = memo.get(key);
  if (known) return known;
  const s = k(d.length);
  const hash = sha(Buffer.from([1]), mth(d.slice(0, s)), mth(d.slice(s)));
  memo.set(key, hash);
  return hash;
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}
function subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  const s = k(n);
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}

/** Our side: proofs from perfect-subtree hashes, as the tree reader builds them from storage. */
function ours(entries: Buffer[]) {
  const leaves = entries.map(leafOf);
  const cache = new Map<string, Buffer>();
  const perfect = (level: number, index: number): Buffer => {
    if (level === 0) return leaves[index]!;
    const key = `${level}:${index}`;
    let hash = cache.get(key);
    if (!hash) cache.set(key, (hash = sha(Buffer.from([1]), perfect(level - 1, index * 2), perfect(level - 1, index * 2 + 1))));
    return hash;
  };
  const hashRanges = (ranges: Array<{ start: number; end: number }>) => ranges.map((r) => rangeHash(perfectNodesOf(r).map((n) => perfect(n.level, n.index))));
  return {
    root: (n: number) => rangeHash(perfectNodesOf({ start: 0, end: n }).map((x) => perfect(x.level, x.index))),
    inclusion: (m: number, n: number) => hashRanges(inclusionProofRanges(m, n)),
    consistency: (m: number, n: number) => (m === n ? [] : hashRanges(consistencyProofRanges(m, n))),
    leaves,
  };
}

const hex = (hashes: Buffer[]) => hashes.map((h) => h.toString('hex')).join(',');
const entries = Array.from({ length: 3000 }, (_, i) => Buffer.from(`event ${i}`));

describe('RFC 9162 Merkle tree arithmetic', () => {
  it('the frontier gives the reference root at every size up to 600, and reports each completed subtree once', () => {
    const frontier = Frontier.empty();
    const completed = new Set<string>();
    expect(frontier.root()).toEqual(mth([]));
    for (let n = 1; n <= 600; n++) {
      frontier.append(leafOf(entries[n - 1]!), (node) => {
        const key = `${node.level}:${node.index}`;
        expect(completed.has(key)).toBe(false);
        completed.add(key);
      });
      expect(frontier.root()).toEqual(mth(entries.slice(0, n)));
    }
    // 600 leaves complete 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 subtrees above level 0
    expect(completed.size).toBe(596);
    const restored = Frontier.fromJSON(600, frontier.toJSON());
    expect(restored.root()).toEqual(frontier.root());
  });

  it('inclusion proofs equal the reference and verify, for every leaf of every size up to 70', () => {
    const tree = ours(entries);
    const wrong: string[] = [];
    for (let n = 1; n <= 70; n++) {
      const d = entries.slice(0, n);
      const root = mth(d);
      for (let m = 0; m < n; m++) {
        const proof = tree.inclusion(m, n);
        if (hex(proof) !== hex(path(m, d)) || !verifyInclusion(m, n, tree.leaves[m]!, proof, root)) wrong.push(`${m} in ${n}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('consistency proofs equal the reference and verify, for every pair of sizes up to 70', () => {
    const tree = ours(entries);
    const wrong: string[] = [];
    for (let n = 1; n <= 70; n++) {
      const d = entries.slice(0, n);
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistency(m, n);
        if (hex(proof) !== hex(subproof(m, d, true)) || !verifyConsistency(m, n, proof, mth(entries.slice(0, m)), mth(d))) wrong.push(`${m} to ${n}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('holds at a few thousand leaves: powers of two, the last leaf, from == to', () => {
    const tree = ours(entries);
    const sizes = [1024, 2048, 2049, 2999, 3000];
    for (const n of sizes) {
      const d = entries.slice(0, n);
      const root = mth(d);
      expect(tree.root(n)).toEqual(root);
      for (const m of [0, 1, 511, 1023, n - 2, n - 1].filter((x) => x >= 0 && x < n)) {
        const proof = tree.inclusion(m, n);
        expect(proof).toEqual(path(m, d));
        expect(verifyInclusion(m, n, tree.leaves[m]!, proof, root)).toBe(true);
      }
      for (const m of [1, 2, 1000, 1024, n - 1, n]) {
        const proof = tree.consistency(m, n);
        expect(proof).toEqual(subproof(m, d, true));
        expect(verifyConsistency(m, n, proof, mth(entries.slice(0, m)), root)).toBe(true);
      }
    }
  });

  it('rejects a proof for the wrong leaf, a tampered path, a wrong size and a wrong root', () => {
    const tree = ours(entries);
    const n = 37;
    const root = mth(entries.slice(0, n));
    const proof = tree.inclusion(5, n);
    expect(verifyInclusion(6, n, tree.leaves[5]!, proof, root)).toBe(false);
    expect(verifyInclusion(5, n, tree.leaves[6]!, proof, root)).toBe(false);
    const tampered = proof.map((p, i) => (i === 2 ? sha(p) : p));
    expect(verifyInclusion(5, n, tree.leaves[5]!, tampered, root)).toBe(false);
    expect(verifyInclusion(5, n, tree.leaves[5]!, proof, mth(entries.slice(0, n + 1)))).toBe(false);
    expect(verifyInclusion(n, n, tree.leaves[5]!, proof, root)).toBe(false);
    const consistency = tree.consistency(10, n);
    expect(verifyConsistency(10, n, consistency, mth(entries.slice(0, 11)), root)).toBe(false);
    expect(verifyConsistency(10, n, consistency.slice(1), mth(entries.slice(0, 10)), root)).toBe(false);
    expect(verifyConsistency(0, n, [], mth([]), root)).toBe(false);
  });
});
