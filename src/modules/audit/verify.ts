import type { JWK } from 'jose';
import type { Database } from '../../storage/database.ts';
import { chainHash, GENESIS_CHAIN_HASH, leafContentOf, leafHashOf } from './leaf.ts';
import { Frontier } from './merkle/frontier.ts';
import { countPendingEvents, leavesInOrder, unaccountedEvents, readTreeNodesUpTo, readTreeState, storedNodeLevels, treeHeadsBetween, type TreeHeadRow } from './store.ts';
import { STORED_LEVEL_STEP } from './tree-reader.ts';
import { verifyTreeHead } from './tree-head.ts';

export interface LogVerification {
  ok: boolean;
  /** The log was verified up to this size: the integrated size when the run began. Events appended meanwhile are not part of it. */
  treeSize: number;
  rootHash: string;
  /** Events whose content (leaf hash and chain link) was recomputed. */
  checked: number;
  /** Signed tree heads compared with the recomputed tree. */
  treeHeads: number;
  /** Committed events not yet placed in the log by the integrator (normal for a few milliseconds). */
  pending: number;
  checkpoint?: { treeSize: number; consistent: boolean };
  firstBad?: { leafIndex?: number; id?: string; treeSize?: number; problem: string };
}

const PAGE = 10_000;

/**
 * Recomputes the log from the database as of one fixed point (the integrated
 * tree size read first, so a server appending meanwhile cannot make a healthy
 * log look broken): every leaf hash from the event's content, every chain
 * link, every stored subtree hash, the root at the size of every stored tree
 * head (and each head's signature), and, given a checkpoint kept outside
 * Custos, the root at the checkpoint's size. Stops at the first mismatch.
 */
export async function verifyAuditLog(db: Database, jwks: { keys: JWK[] }, options: { from?: number; checkpoint?: { treeSize: number; rootHash: string } } = {}): Promise<LogVerification> {
  const state = await readTreeState(db);
  const size = state.treeSize;
  const from = options.from ?? 0;
  const pending = await countPendingEvents(db);
  const frontier = Frontier.empty();
  let chain = GENESIS_CHAIN_HASH;
  let checked = 0;
  let headsChecked = 0;
  const result = (firstBad?: LogVerification['firstBad']): LogVerification => ({
    ok: !firstBad,
    treeSize: size,
    rootHash: frontier.root().toString('hex'),
    checked,
    treeHeads: headsChecked,
    pending,
    ...(options.checkpoint ? { checkpoint: { treeSize: options.checkpoint.treeSize, consistent: !firstBad } } : {}),
    ...(firstBad ? { firstBad } : {}),
  });

  const heads = await allHeads(db);
  const beyond = heads.find((h) => h.treeSize > size);
  if (beyond) return result({ treeSize: beyond.treeSize, problem: `a tree head of ${beyond.treeSize} events was signed, but the log holds ${size}: events were removed` });
  if (options.checkpoint && options.checkpoint.treeSize > size) {
    return result({ treeSize: options.checkpoint.treeSize, problem: `the checkpoint is of ${options.checkpoint.treeSize} events, but the log holds ${size}: events were removed or the log was rewritten` });
  }
  // Roots to compare as the tree grows: signed heads, then the checkpoint.
  const expectations = new Map<number, Array<{ head?: TreeHeadRow; rootHash: string }>>();
  const expect = (treeSize: number, entry: { head?: TreeHeadRow; rootHash: string }) => expectations.set(treeSize, [...(expectations.get(treeSize) ?? []), entry]);
  for (const head of heads) expect(head.treeSize, { head, rootHash: head.rootHash });
  if (options.checkpoint) expect(options.checkpoint.treeSize, { rootHash: options.checkpoint.rootHash });

  const checkRootAt = async (treeSize: number): Promise<LogVerification['firstBad'] | undefined> => {
    for (const e of expectations.get(treeSize) ?? []) {
      const root = frontier.root().toString('hex');
      if (!e.head) {
        if (root !== e.rootHash) return { treeSize, problem: `the log is not consistent with the checkpoint: its first ${treeSize} events have another root hash (rewritten)` };
        continue;
      }
      const claims = await verifyTreeHead(e.head.signature, jwks);
      if (!claims || claims.treeSize !== e.head.treeSize || claims.rootHash !== e.head.rootHash) return { treeSize, problem: "the stored tree head's signature does not verify or does not match the head (forged)" };
      if (root !== e.head.rootHash) return { treeSize, problem: `the first ${treeSize} events do not hash to the root of the tree head signed at that size` };
      headsChecked += 1;
    }
    return undefined;
  };

  const storedNodes = new Map<string, string>();
  for (const level of await storedNodeLevels(db)) {
    for (let after = -1; ; ) {
      const page = await readTreeNodesUpTo(db, level, Number.MAX_SAFE_INTEGER, after, PAGE);
      if (page.length === 0) break;
      for (const n of page) storedNodes.set(`${level}:${n.index}`, n.hash);
      after = page.at(-1)!.index;
    }
  }

  const atStart = await checkRootAt(0);
  if (atStart) return result(atStart);
  let nodeProblem: LogVerification['firstBad'] | undefined;
  for (let after = -1; after < size - 1; ) {
    const rows = await leavesInOrder(db, after, size, PAGE);
    if (rows.length === 0) return result({ leafIndex: after + 1, problem: `event ${after + 1} is missing (deleted)` });
    for (const row of rows) {
      const index = frontier.size;
      const bad = (problem: string) => result({ leafIndex: index, ...(row.id ? { id: row.id } : {}), problem });
      if (row.leafIndex !== index) return bad(`event ${index} is missing (deleted or moved)`);
      if (row.id === null) return bad(`event ${index} is missing (deleted)`);
      const leaf = index >= from ? leafHashOf(leafContentOf(row, index)) : row.leafHash!;
      if (leaf !== row.leafHash) return bad('content does not match its leaf hash (edited)');
      chain = index >= from ? chainHash(chain, leaf) : row.chainHash!;
      if (chain !== row.chainHash) return bad('chain hash does not match the events before it');
      if (index >= from) checked += 1;
      frontier.append(Buffer.from(leaf, 'hex'), (node, hash) => {
        if (nodeProblem || node.level % STORED_LEVEL_STEP !== 0) return;
        const stored = storedNodes.get(`${node.level}:${node.index}`);
        if (stored !== hash.toString('hex')) nodeProblem = { leafIndex: index, problem: `the stored tree hash at level ${node.level}, index ${node.index} is ${stored ? 'wrong' : 'missing'}: proofs would not verify` };
      });
      if (nodeProblem) return result(nodeProblem);
      const headProblem = await checkRootAt(frontier.size);
      if (headProblem) return result(headProblem);
    }
    after = rows.at(-1)!.leafIndex!;
  }
  if (chain !== state.chainHash || frontier.root().toString('hex') !== stateRoot(size, state.frontier)) {
    return result({ treeSize: size, problem: "the integrator's state does not match the events (edited)" });
  }
  const [hidden] = await unaccountedEvents(db, 1);
  if (hidden) return result({ id: hidden.id, problem: 'an event is neither in the log nor waiting to be placed (taken off the queue behind Custos\'s back)' });
  return result();
}

function stateRoot(size: number, edge: string[]): string | undefined {
  try {
    return Frontier.fromJSON(size, edge).root().toString('hex');
  } catch {
    return undefined;
  }
}

async function allHeads(db: Database): Promise<TreeHeadRow[]> {
  const heads: TreeHeadRow[] = [];
  for (let after = -1; ; ) {
    const page = await treeHeadsBetween(db, { afterSize: after }, PAGE);
    if (page.length === 0) return heads;
    heads.push(...page);
    after = page.at(-1)!.treeSize;
  }
}
