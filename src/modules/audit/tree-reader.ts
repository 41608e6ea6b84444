import type { Database } from '../../storage/database.ts';
import { EMPTY_ROOT, hashChildren } from './merkle/hashes.ts';
import { consistencyProofRanges, inclusionProofRanges } from './merkle/proofs.ts';
import { perfectNodesOf, rangeHash, type LeafRange, type PerfectNode } from './merkle/subtrees.ts';
import { readLeafHashes, readTreeNodes } from './store.ts';

/**
 * Perfect subtrees are stored at every STORED_LEVEL_STEP levels (leaf hashes
 * at level 0, then 8, 16, ...: tiles of 256, as Trillian and Tessera keep
 * them). Any other perfect subtree is hashed up from at most 128 stored
 * hashes one tier below it, so a proof reads O(log n) stored hashes in one
 * query per tier and never walks the leaves.
 */
export const STORED_LEVEL_STEP = 8;

const CACHE_LIMIT = 200_000;

/** Proofs and roots at any size up to the integrated tree, from stored hashes. */
export function createTreeReader(db: Database, options: { cache: boolean } = { cache: true }) {
  // A perfect subtree's hash never changes once it exists, so caching one is safe for serving proofs.
  // A reader that checks the stored tree against signed heads must read storage afresh (cache: false).
  const cache = new Map<string, Buffer>();
  const remember = (key: string, hash: Buffer) => {
    if (cache.size >= (options.cache ? CACHE_LIMIT : 100_000)) cache.clear();
    cache.set(key, hash);
  };

  async function perfectHashes(nodes: PerfectNode[]): Promise<Buffer[]> {
    if (!options.cache) cache.clear();
    const missing = nodes.filter((n) => !cache.has(`${n.level}:${n.index}`));
    // What to read at each stored tier: the stored descendants of every missing node.
    const wanted = new Map<number, Set<number>>();
    for (const n of missing) {
      const tier = n.level - (n.level % STORED_LEVEL_STEP);
      const width = 2 ** (n.level - tier);
      const set = wanted.get(tier) ?? new Set<number>();
      for (let i = 0; i < width; i++) set.add(n.index * width + i);
      wanted.set(tier, set);
    }
    const stored = new Map<number, Map<number, string>>();
    await Promise.all(
      [...wanted].map(async ([tier, indexes]) => {
        const list = [...indexes];
        stored.set(tier, tier === 0 ? await readLeafHashes(db, list) : await readTreeNodes(db, tier, list));
      }),
    );
    for (const n of missing) {
      const tier = n.level - (n.level % STORED_LEVEL_STEP);
      const width = 2 ** (n.level - tier);
      let row: Buffer[] = [];
      for (let i = 0; i < width; i++) {
        const hex = stored.get(tier)!.get(n.index * width + i);
        if (hex === undefined) throw new Error(`audit tree hash (level ${tier}, index ${n.index * width + i}) is missing`);
        row.push(Buffer.from(hex, 'hex'));
      }
      while (row.length > 1) {
        const next: Buffer[] = [];
        for (let i = 0; i < row.length; i += 2) next.push(hashChildren(row[i]!, row[i + 1]!));
        row = next;
      }
      remember(`${n.level}:${n.index}`, row[0]!);
    }
    return nodes.map((n) => cache.get(`${n.level}:${n.index}`)!);
  }

  async function rangeHashes(ranges: LeafRange[]): Promise<Buffer[]> {
    const perRange = ranges.map(perfectNodesOf);
    const hashes = await perfectHashes(perRange.flat());
    let at = 0;
    return perRange.map((nodes) => rangeHash(hashes.slice(at, (at += nodes.length))));
  }

  return {
    /** MTH of the first `size` leaves. */
    async root(size: number): Promise<Buffer> {
      if (size === 0) return EMPTY_ROOT;
      return (await rangeHashes([{ start: 0, end: size }]))[0]!;
    },
    async leafHash(index: number): Promise<Buffer> {
      return (await perfectHashes([{ level: 0, index }]))[0]!;
    },
    inclusionProof: (index: number, size: number) => rangeHashes(inclusionProofRanges(index, size)),
    consistencyProof: (from: number, to: number) => (from === to ? Promise.resolve([]) : rangeHashes(consistencyProofRanges(from, to))),
  };
}

export type TreeReader = ReturnType<typeof createTreeReader>;
