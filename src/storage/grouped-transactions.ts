import type { Database, Tx } from './database.ts';

interface Item {
  key: string | undefined;
  work: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs small write transactions that arrive together as one transaction, each
 * piece in arrival order, so they share one commit (one fsync) instead of
 * queueing for the write lock one by one. Every piece still sees the writes of
 * the pieces before it. All keys of a group are locked first, in sorted order,
 * so two replicas running groups can never deadlock on each other's locks.
 * If the transaction fails, every piece of it fails and nothing is committed.
 * Pieces without a key take no lock.
 */
export function createTransactionGroups(db: Database, options: { maxGroup: number; lock?: (tx: Tx, key: string) => Promise<void> }) {
  const { maxGroup, lock } = options;
  let queue: Item[] = [];
  let running = false;

  async function drain(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        // SQLite commits block the event loop (a synchronous fsync), so requests that arrived
        // meanwhile are only read once we yield: let them queue and join this group.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const group = queue.slice(0, maxGroup);
        queue = queue.slice(group.length);
        try {
          const results = await db.transaction(async (tx) => {
            const keys = group.map((item) => item.key).filter((key): key is string => key !== undefined);
            if (lock) for (const key of [...new Set(keys)].sort()) await lock(tx, key);
            const out: unknown[] = [];
            for (const item of group) out.push(await item.work(tx));
            return out;
          });
          group.forEach((item, i) => item.resolve(results[i]));
        } catch (error) {
          for (const item of group) item.reject(error);
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    run<T>(key: string | undefined, work: (tx: Tx) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ key, work, resolve: resolve as (value: unknown) => void, reject });
        if (!running) void drain();
      });
    },
  };
}
