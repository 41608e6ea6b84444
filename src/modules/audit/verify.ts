import type { JWK } from 'jose';
import type { DatabaseConfig } from '../../config.ts';
import { typeScriptWorker } from '../../shared/typescript-worker.ts';
import type { Database } from '../../storage/database.ts';
import { chainHash, GENESIS_CHAIN_HASH } from './leaf.ts';
import { Frontier } from './merkle/frontier.ts';
import { countPendingEvents, leafHashesInOrder, readTreeNodesAfter, readTreeState, storedNodeLevels, treeHeadsBetween, unaccountedEvents, type TreeHeadRow, type TreeStateRow } from './store.ts';
import { checkLeafContent, type ContentProblem } from './verify-content.ts';
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

export interface VerifyOptions {
  /** Recompute event content from this leaf index on (the tree is always rebuilt from every stored leaf hash). */
  from?: number;
  checkpoint?: { treeSize: number; rootHash: string };
  /** Check content on this many worker threads, each with its own connection to `database` (the CLI); inline without. */
  parallel?: { database: DatabaseConfig; threads: number };
}

/**
 * Recomputes the log from the database as of one fixed point (the integrated
 * tree size read first, so a server appending meanwhile cannot make a healthy
 * log look broken). Two independent checks, run at once:
 *  - content: every leaf hash recomputed from its event (on worker threads when asked);
 *  - tree: from the stored leaf hashes, every chain link, every stored subtree
 *    hash, the root at the size of every stored tree head (and each head's
 *    signature) and, given a checkpoint kept outside Custos, the root at its size.
 * The first problem in log order is reported.
 */
export async function verifyAuditLog(db: Database, jwks: { keys: JWK[] }, options: VerifyOptions = {}): Promise<LogVerification> {
  // Heads first: every head read now is of a size the state read next already holds, so a
  // head signed meanwhile can never pass for one that outlived removed events.
  const heads = await allHeads(db);
  const state = await readTreeState(db);
  const size = state.treeSize;
  const from = Math.min(options.from ?? 0, size);
  const [pending, content, tree] = await Promise.all([countPendingEvents(db), checkContent(db, from, size, options.parallel), checkTree(db, jwks, state, heads, options.checkpoint)]);
  const problems = [content.problem, tree.problem].filter((p): p is NonNullable<typeof p> => p !== undefined);
  // In log order: an event's problem at index i comes before a head's at size i + 1 or more.
  const position = (p: LogVerification['firstBad'] & object) => p.leafIndex ?? (p.treeSize ?? Number.MAX_SAFE_INTEGER) - 0.5;
  const firstBad = problems.sort((a, b) => position(a) - position(b))[0];
  let hidden: LogVerification['firstBad'];
  if (!firstBad) {
    const [event] = await unaccountedEvents(db, 1);
    if (event) hidden = { id: event.id, problem: "an event is neither in the log nor waiting to be placed (taken off the queue behind Custos's back)" };
  }
  const bad = firstBad ?? hidden;
  return {
    ok: !bad,
    treeSize: size,
    rootHash: tree.rootHash,
    checked: content.checked,
    treeHeads: tree.heads,
    pending,
    ...(options.checkpoint ? { checkpoint: { treeSize: options.checkpoint.treeSize, consistent: !bad } } : {}),
    ...(bad ? { firstBad: bad } : {}),
  };
}

async function checkContent(db: Database, from: number, size: number, parallel: VerifyOptions['parallel']): Promise<{ checked: number; problem?: ContentProblem }> {
  const threads = parallel ? Math.min(parallel.threads, Math.ceil((size - from) / 50_000)) : 0;
  if (!parallel || threads < 1) return checkLeafContent(db, from, size);
  const step = Math.ceil((size - from) / threads);
  const parts = await Promise.all(Array.from({ length: threads }, (_, i) => runContentWorker(parallel.database, from + i * step, Math.min(size, from + (i + 1) * step))));
  const problems = parts.map((p) => p.problem).filter((p): p is ContentProblem => p !== undefined);
  return { checked: parts.reduce((n, p) => n + p.checked, 0), problem: problems.sort((a, b) => a.leafIndex - b.leafIndex)[0] };
}

function runContentWorker(database: DatabaseConfig, start: number, end: number): Promise<{ checked: number; problem?: ContentProblem }> {
  return new Promise((resolve, reject) => {
    const worker = typeScriptWorker(require.resolve('./verify-content-worker.ts'), { workerData: { database, start, end } });
    worker.once('message', (m: { checked: number; problem?: ContentProblem } | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`audit verification thread exited with code ${code}`)));
  });
}

/** The tree check, from the stored leaf hashes alone. */
async function checkTree(
  db: Database,
  jwks: { keys: JWK[] },
  state: TreeStateRow,
  stored: TreeHeadRow[],
  checkpoint: VerifyOptions['checkpoint'],
): Promise<{ rootHash: string; heads: number; problem?: LogVerification['firstBad'] }> {
  const size = state.treeSize;
  const frontier = Frontier.empty();
  let chain = GENESIS_CHAIN_HASH;
  let heads = 0;
  const done = (problem?: LogVerification['firstBad']) => ({ rootHash: frontier.root().toString('hex'), heads, ...(problem ? { problem } : {}) });

  const beyond = stored.find((h) => h.treeSize > size);
  if (beyond) return done({ treeSize: beyond.treeSize, problem: `a tree head of ${beyond.treeSize} events was signed, but the log holds ${size}: events were removed` });
  if (checkpoint && checkpoint.treeSize > size) {
    return done({ treeSize: checkpoint.treeSize, problem: `the checkpoint is of ${checkpoint.treeSize} events, but the log holds ${size}: events were removed or the log was rewritten` });
  }
  // Roots to compare as the tree grows: signed heads, then the checkpoint.
  const expectations = new Map<number, Array<{ head?: TreeHeadRow; rootHash: string }>>();
  const expect = (treeSize: number, entry: { head?: TreeHeadRow; rootHash: string }) => expectations.set(treeSize, [...(expectations.get(treeSize) ?? []), entry]);
  for (const head of stored) expect(head.treeSize, { head, rootHash: head.rootHash });
  if (checkpoint) expect(checkpoint.treeSize, { rootHash: checkpoint.rootHash });

  const checkRootAt = async (treeSize: number): Promise<LogVerification['firstBad'] | undefined> => {
    for (const e of expectations.get(treeSize) ?? []) {
      const root = frontier.root().toString('hex');
      if (!e.head) {
        if (root !== e.rootHash) return { treeSize, problem: `the log is not consistent with the checkpoint: its first ${treeSize} events have another root hash (rewritten)` };
        continue;
      }
      const claims = await verifyTreeHead(e.head.signature, jwks);
      if (!claims || claims.treeSize !== e.head.treeSize || claims.rootHash !== e.head.rootHash)
        return { treeSize, problem: "the stored tree head's signature does not verify or does not match the head (forged)" };
      if (root !== e.head.rootHash) return { treeSize, problem: `the first ${treeSize} events do not hash to the root of the tree head signed at that size` };
      heads += 1;
    }
    return undefined;
  };

  const storedNodes = new Map<string, string>();
  for (const level of await storedNodeLevels(db)) {
    for (let after = -1; ;) {
      const page = await readTreeNodesAfter(db, level, after, PAGE);
      if (page.length === 0) break;
      for (const n of page) storedNodes.set(`${level}:${n.index}`, n.hash);
      after = page.at(-1)!.index;
    }
  }

  const atStart = await checkRootAt(0);
  if (atStart) return done(atStart);
  let nodeProblem: LogVerification['firstBad'] | undefined;
  for (let after = -1; after < size - 1;) {
    const leaves = await leafHashesInOrder(db, after, size, PAGE);
    if (leaves.length === 0) return done({ leafIndex: after + 1, problem: `event ${after + 1} is missing (deleted or moved)` });
    for (const leaf of leaves) {
      const index = frontier.size;
      if (leaf.leafIndex !== index) return done({ leafIndex: index, problem: `event ${index} is missing (deleted or moved)` });
      chain = chainHash(chain, leaf.leafHash);
      if (chain !== leaf.chainHash) return done({ leafIndex: index, problem: 'chain hash does not match the events before it' });
      frontier.append(Buffer.from(leaf.leafHash, 'hex'), (node, hash) => {
        if (nodeProblem || node.level % STORED_LEVEL_STEP !== 0) return;
        const kept = storedNodes.get(`${node.level}:${node.index}`);
        if (kept !== hash.toString('hex'))
          nodeProblem = { leafIndex: index, problem: `the stored tree hash at level ${node.level}, index ${node.index} is ${kept ? 'wrong' : 'missing'}: proofs would not verify` };
      });
      if (nodeProblem) return done(nodeProblem);
      const headProblem = await checkRootAt(frontier.size);
      if (headProblem) return done(headProblem);
    }
    after = leaves.at(-1)!.leafIndex;
  }
  if (chain !== state.chainHash || frontier.root().toString('hex') !== stateRoot(size, state.frontier)) {
    return done({ treeSize: size, problem: "the integrator's state does not match the events (edited)" });
  }
  return done();
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
  for (let after = -1; ;) {
    const page = await treeHeadsBetween(db, { afterSize: after }, PAGE);
    if (page.length === 0) return heads;
    heads.push(...page);
    after = page.at(-1)!.treeSize;
  }
}
