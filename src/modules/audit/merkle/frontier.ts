import { EMPTY_ROOT, hashChildren } from './hashes.ts';
import type { PerfectNode } from './subtrees.ts';

/**
 * The right edge of a tree of `size` leaves: the hashes of the perfect
 * subtrees that make up [0, size), largest first (one per set bit of size).
 * Appending a leaf merges equal-sized subtrees, which yields every perfect
 * subtree exactly once, as it is completed: the integrator stores the ones
 * it keeps from there, so no node is ever recomputed from all the leaves.
 */
export class Frontier {
  constructor(
    public size: number,
    private readonly hashes: Buffer[],
  ) {}

  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /** Appends one leaf hash; calls `completed` for each perfect subtree it completes (level >= 1). */
  append(leaf: Buffer, completed?: (node: PerfectNode, hash: Buffer) => void): void {
    let hash = leaf;
    let level = 0;
    const index = this.size;
    while (Math.floor(index / 2 ** level) % 2 === 1) {
      hash = hashChildren(this.hashes.pop()!, hash);
      level += 1;
      completed?.({ level, index: Math.floor(index / 2 ** level) }, hash);
    }
    this.hashes.push(hash);
    this.size += 1;
  }

  /** MTH of the whole tree (RFC 9162 section 2.1.1). */
  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let hash = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) hash = hashChildren(this.hashes[i]!, hash);
    return hash;
  }

  toJSON(): string[] {
    return this.hashes.map((h) => h.toString('hex'));
  }

  static fromJSON(size: number, hex: string[]): Frontier {
    const expected = size
      .toString(2)
      .split('')
      .filter((b) => b === '1').length;
    if (hex.length !== expected) throw new Error(`a tree of ${size} leaves has ${expected} edge subtrees, not ${hex.length}`);
    return new Frontier(
      size,
      hex.map((h) => Buffer.from(h, 'hex')),
    );
  }
}
