import type { Database, Tx } from './database.ts';

interface Item {
  key: string;
  work: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const MAX_GROUP = 200;

/**
 * Runs small write transactions that arrive together as one transaction, each
 * piece in arrival order, so they share one commit (one fsync) instead of
 * queueing for the write lock one by one. Every piece still sees the writes of
 * the pieces before it. All keys of a group are locked first, in sorted order,
 * so two replicas running groups can never deadlock on each other's locks.
 * If the transaction fails, every piece of it fails and nothing is committed.
 */
export function createTransactionGroups(db: Database, lock: (tx: Tx, key: string) => Promise<void>) {
  let queue: Item[] = [];
  let running = false;

  async function drain(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        // Let requests that arrived while the last group committed join this one.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const group = queue.slice(0, MAX_GROUP);
        queue = queue.slice(group.length);
        try {
          const results = await db.transaction(async (tx) => {
            for (const key of [...new Set(group.map((item) => item.key))].sort()) await lock(tx, key);
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
    run<T>(key: string, work: (tx: Tx) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ key, work, resolve: resolve as (value: unknown) => void, reject });
        if (!running) void drain();
      });
    },
  };
}
