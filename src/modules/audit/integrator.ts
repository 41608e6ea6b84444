import type { Logger } from '../../logger.ts';
import type { SigningKey } from '../../crypto/signing-key.ts';
import type { Database, Tx } from '../../storage/database.ts';
import { chainHash, leafContentOf, leafHashOf, type LeafContent } from './leaf.ts';
import { Frontier } from './merkle/frontier.ts';
import { onAuditAppended } from './service.ts';
import { addStats, hasPendingEvents, insertTreeHead, insertTreeNodes, latestTreeHead, lockTreeState, pendingEvents, placeEvents, readTreeState, saveTreeState, type TreeHeadRow } from './store.ts';
import { createTreeReader, STORED_LEVEL_STEP } from './tree-reader.ts';
import { signTreeHead } from './tree-head.ts';

// How soon a replica that found another's integrator at work looks again.
const BUSY_RETRY_MS = 50;
// The least time between two background passes (see wake).
const MIN_GAP_MS = 25;

export interface IntegratorSettings {
  /** False on a replica that leaves integration to the others. */
  enabled: boolean;
  /** A new tree head is signed when the tree has grown and this long has passed since the last one... */
  headIntervalMs: number;
  /** ...or when this many events have been placed since the last one. */
  headEveryEvents: number;
  /** Sweep for events of other processes (the CLI, a replica that stopped) this often. */
  pollMs: number;
  batchSize: number;
}

/**
 * Places committed audit events in the log, one integrator at a time across
 * every replica (the lock on the integrator's state row, which writers never
 * touch): each pending event gets the next leaf index, its RFC 9162 leaf hash
 * and chain hash; the perfect subtrees it completes at levels 8, 16, ... are
 * stored, so that any proof later reads O(log n) stored hashes; hourly counts
 * are kept for the officers' statistics; and a signed tree head is kept when
 * one is due. Each step is one transaction: a crash leaves either all of a
 * batch placed or none of it.
 */
export function createAuditIntegrator(deps: { db: Database; signingKey: SigningKey; logger: Logger; settings: IntegratorSettings }) {
  const { db, signingKey, logger, settings } = deps;
  const tree = createTreeReader(db, { cache: false });
  let running: Promise<void> | undefined;
  let again = false;
  let lastEnded = 0;
  let delayed: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let stopped = false;

  /** Events placed, or 'busy' when `skipIfTaken` and another replica's integrator holds the lock. */
  async function integrateBatch(skipIfTaken: boolean): Promise<number | 'busy'> {
    return db.transaction(async (tx) => {
      const state = await lockTreeState(tx, { skipIfTaken });
      if (!state) return 'busy';
      const events = await pendingEvents(tx, settings.batchSize);
      const frontier = Frontier.fromJSON(state.treeSize, state.frontier);
      let chain = state.chainHash;
      const places: Array<{ no: number; leafIndex: number; leafHash: string; chainHash: string }> = [];
      const nodes: Array<{ level: number; index: number; hash: string }> = [];
      const counts = hourlyCounts();
      for (const event of events) {
        const leafIndex = frontier.size;
        const content = leafContentOf(event, leafIndex);
        const leafHash = leafHashOf(content);
        counts.add(content);
        chain = chainHash(chain, leafHash);
        places.push({ no: event.no, leafIndex, leafHash, chainHash: chain });
        frontier.append(Buffer.from(leafHash, 'hex'), (node, hash) => {
          if (node.level % STORED_LEVEL_STEP === 0) nodes.push({ ...node, hash: hash.toString('hex') });
        });
      }
      if (events.length > 0) {
        await placeEvents(tx, places);
        await insertTreeNodes(tx, nodes);
        await saveTreeState(tx, { treeSize: frontier.size, chainHash: chain, frontier: frontier.toJSON() });
        await addStats(tx, counts.rows());
      }
      await publishHeadIfDue(tx, frontier);
      return events.length;
    });
  }

  async function publishHeadIfDue(tx: Tx, frontier: Frontier): Promise<void> {
    const last = await latestTreeHead(tx);
    const now = new Date();
    if (!headDue(last, frontier.size, now)) return;
    // A log must never sign a head inconsistent with one it signed before (c2sp.org/tlog-checkpoint):
    // if the stored tree no longer gives the last head's root, someone edited it; sign nothing.
    if (last && last.treeSize > 0 && (await tree.root(last.treeSize)).toString('hex') !== last.rootHash) {
      logger.error('the audit tree no longer matches its last signed head; no new head is signed until `custos audit verify` is run and the cause found', { treeSize: last.treeSize });
      return;
    }
    const rootHash = frontier.root().toString('hex');
    const signature = await signTreeHead(signingKey, { treeSize: frontier.size, rootHash, timestamp: now.toISOString() });
    await insertTreeHead(tx, { treeSize: frontier.size, rootHash, signedAt: now, signature });
  }

  /** A head is due for an empty log, and for a grown one once enough events or enough time have passed. */
  function headDue(last: TreeHeadRow | undefined, treeSize: number, now: Date): boolean {
    if (!last) return true;
    if (last.treeSize >= treeSize) return false;
    return treeSize - last.treeSize >= settings.headEveryEvents || now.getTime() - last.signedAt.getTime() >= settings.headIntervalMs;
  }

  /** A read first, so an idle sweep takes no write lock. */
  async function hasWork(): Promise<boolean> {
    if (await hasPendingEvents(db)) return true;
    const [state, last] = await Promise.all([readTreeState(db), latestTreeHead(db)]);
    return headDue(last, state.treeSize, new Date());
  }

  /**
   * Places everything pending now, batch by batch. In the background
   * (`skipIfTaken`), a replica finding another's integrator at work leaves it
   * and looks again shortly, since that one may have read the pending events
   * before ours committed; flush waits its turn instead.
   */
  async function drain(skipIfTaken: boolean): Promise<void> {
    if (!(await hasWork())) return;
    for (;;) {
      const placed = await integrateBatch(skipIfTaken);
      if (placed === 'busy') {
        setTimeout(wake, BUSY_RETRY_MS).unref();
        return;
      }
      if (placed < settings.batchSize) return;
      // a backlog (an upgrade, a replica that was down): keep going, yielding between batches
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Runs a background pass, at most one at a time and at least MIN_GAP_MS
   * after the last one ended: under load, events that commit meanwhile wait
   * a few milliseconds and are placed together, so a pass's statements are
   * shared by many requests instead of following every commit.
   */
  function wake(): void {
    if (!settings.enabled || stopped) return;
    if (running) {
      again = true;
      return;
    }
    const wait = lastEnded + MIN_GAP_MS - Date.now();
    if (wait > 0) {
      delayed ??= setTimeout(() => {
        delayed = undefined;
        wake();
      }, wait).unref();
      return;
    }
    running = drain(true)
      .catch((error: unknown) => {
        logger.warn('audit integration failed; will retry', { error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => {
        running = undefined;
        lastEnded = Date.now();
        if (again) {
          again = false;
          wake();
        }
      });
  }

  return {
    start(): void {
      if (!settings.enabled) return;
      unsubscribe = onAuditAppended(db, wake);
      timer = setInterval(wake, settings.pollMs);
      timer.unref();
      wake();
    },
    /** Places every event committed so far (tests, the CLI before it exits, shutdown). */
    async flush(): Promise<void> {
      while (running) await running;
      await drain(false);
    },
    async stop(): Promise<void> {
      stopped = true;
      unsubscribe?.();
      if (timer) clearInterval(timer);
      if (delayed) clearTimeout(delayed);
      while (running) await running;
    },
  };
}

export type AuditIntegrator = ReturnType<typeof createAuditIntegrator>;

/** Hour buckets (UTC): one count per event with reason '', plus one per deny reason code. */
function hourlyCounts() {
  const counts = new Map<string, number>();
  const bump = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    add(e: LeafContent): void {
      const hour = e.at.toISOString().slice(0, 13);
      bump(`${hour}\u0000${e.action}\u0000${e.decision}\u0000`);
      if (e.decision === 'deny') for (const code of new Set(e.reasons.map((r) => r.code))) bump(`${hour}\u0000${e.action}\u0000deny\u0000${code}`);
    },
    rows(): Array<{ hour: string; action: string; decision: string; reason: string; count: number }> {
      return [...counts].map(([key, count]) => {
        const [hour, action, decision, reason] = key.split('\u0000') as [string, string, string, string];
        return { hour, action, decision, reason, count };
      });
    },
  };
}
