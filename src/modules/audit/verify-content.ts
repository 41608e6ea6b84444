import type { Database } from '../../storage/database.ts';
import { leafContentOf, leafHashOf } from './leaf.ts';
import { leavesInOrder } from './store.ts';

export interface ContentProblem {
  leafIndex: number;
  id?: string;
  problem: string;
}

const PAGE = 10_000;

/**
 * Recomputes the leaf hash of every event placed in [start, end) from the
 * event's content and compares it with the stored leaf hash. Independent of
 * the tree check (which works from the stored leaf hashes), so ranges can be
 * checked on several threads at once. Returns the first mismatch and how many
 * events were checked.
 */
export async function checkLeafContent(db: Database, start: number, end: number): Promise<{ checked: number; problem?: ContentProblem }> {
  let checked = 0;
  for (let after = start - 1; after < end - 1;) {
    const rows = await leavesInOrder(db, after, end, PAGE);
    // Missing leaves are the tree check's to report (it walks every index).
    if (rows.length === 0) return { checked };
    for (const row of rows) {
      const index = row.leafIndex!;
      if (row.id === null) return { checked, problem: { leafIndex: index, problem: `event ${index} is missing (deleted)` } };
      if (leafHashOf(leafContentOf(row, index)) !== row.leafHash) return { checked, problem: { leafIndex: index, id: row.id, problem: 'content does not match its leaf hash (edited)' } };
      checked += 1;
    }
    after = rows.at(-1)!.leafIndex!;
  }
  return { checked };
}
