import type { SigningKey } from '../../crypto/signing-key.ts';
import { ValidationError, Unavailable } from '../../shared/errors.ts';
import type { Database } from '../../storage/database.ts';
import { latestTreeHead, readTreeState, treeHeadsBetween, type TreeHeadRow } from './store.ts';
import { noteVerifierKey, signCheckpoint } from './tree-head.ts';
import type { TreeReader } from './tree-reader.ts';

export interface TreeHeadView {
  treeSize: number;
  rootHash: string;
  timestamp: string;
  signature: string;
}

const view = (h: TreeHeadRow): TreeHeadView => ({ treeSize: h.treeSize, rootHash: h.rootHash, timestamp: h.signedAt.toISOString(), signature: h.signature });
const hex = (hashes: Buffer[]) => hashes.map((h) => h.toString('hex'));

/** The log as a transparency log: signed heads, the checkpoint, and RFC 9162 proofs. */
export function createAuditLog(deps: { db: Database; signingKey: SigningKey; origin: string; tree: TreeReader }) {
  const { db, signingKey, origin, tree } = deps;
  let lastNote: { treeSize: number; text: string } | undefined;

  async function latest(): Promise<TreeHeadRow> {
    const head = await latestTreeHead(db);
    if (!head) throw new Unavailable('no tree head has been signed yet; the integrator signs one within seconds of start');
    return head;
  }

  /** The integrated size; proofs may name any size up to it. */
  async function checkSize(name: string, size: number): Promise<void> {
    const { treeSize } = await readTreeState(db);
    if (size > treeSize) throw new ValidationError([{ path: name, message: `is beyond the log, which holds ${treeSize} events` }]);
  }

  return {
    origin,
    verifierKey: noteVerifierKey(origin, signingKey.publicKey),
    latest: async () => view(await latest()),
    async heads(range: { from?: Date; to?: Date; afterSize?: number }, limit: number): Promise<TreeHeadView[]> {
      return (await treeHeadsBetween(db, range, limit)).map(view);
    },
    /** The latest head as a c2sp.org/tlog-checkpoint note (Ed25519 is deterministic: same head, same note). */
    async checkpoint(): Promise<string> {
      const head = await latest();
      if (lastNote?.treeSize !== head.treeSize) lastNote = { treeSize: head.treeSize, text: signCheckpoint(origin, signingKey, head.treeSize, head.rootHash) };
      return lastNote.text;
    },
    async inclusionProof(index: number, treeSize: number): Promise<{ leafIndex: number; treeSize: number; leafHash: string; auditPath: string[] }> {
      if (index >= treeSize) throw new ValidationError([{ path: 'index', message: `must be less than treeSize (${treeSize})` }]);
      await checkSize('treeSize', treeSize);
      const [leaf, path] = await Promise.all([tree.leafHash(index), tree.inclusionProof(index, treeSize)]);
      return { leafIndex: index, treeSize, leafHash: leaf.toString('hex'), auditPath: hex(path) };
    },
    async consistencyProof(from: number, to: number): Promise<{ from: number; to: number; proof: string[] }> {
      if (from > to) throw new ValidationError([{ path: 'from', message: `must not be greater than to (${to})` }]);
      await checkSize('to', to);
      return { from, to, proof: hex(await tree.consistencyProof(from, to)) };
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
