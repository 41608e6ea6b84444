import type { Database, Tx } from './database.ts';

interface Item<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Work that arrives together, run in groups: while one group runs, arrivals
 * queue and go together into the next (at most maxGroup at a time). `run`
 * answers each item of its group in order; if it fails, every item of the
 * group fails with its error.
 */
export function createBatches<I, R>(maxGroup: number, run: (items: I[]) => Promise<R[]>) {
  let queue: Array<Item<I, R>> = [];
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
          const results = await run(group.map((g) => g.item));
          group.forEach((g, i) => g.resolve(results[i]!));
        } catch (error) {
          for (const g of group) g.reject(error);
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    run(item: I): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}

/**
 * createBatches per key: work of the same key that arrives together runs as
 * one group; different keys never share a group. A key's queue is forgotten
 * once it drains, so keys that carry per-request values leave nothing behind.
 */
export function createKeyedBatches<I, R>(maxGroup: number, run: (key: string, items: I[]) => Promise<R[]>) {
  const byKey = new Map<string, { run(item: I): Promise<R>; waiting: number }>();
  return {
    async run(key: string, item: I): Promise<R> {
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { ...createBatches<I, R>(maxGroup, (items) => run(key, items)), waiting: 0 }));
      entry.waiting++;
      try {
        return await entry.run(item);
      } finally {
        if (--entry.waiting === 0) byKey.delete(key);
      }
    },
  };
}

type Piece = { key: string | undefined; work: (tx: Tx) => Promise<unknown> };

/**
 * Runs small write transactions that arrive together as one transaction, each
 * piece in arrival order, so they share one commit (one fsync) instead of
 * queueing for the write lock one by one. Every piece still sees the writes of
 * the pieces before it. All keys of a group are locked first, in sorted order
 * (in one call), so two replicas running groups can never deadlock on each other's locks.
 * If the transaction fails, every piece of it fails and nothing is committed.
 * Pieces without a key take no lock.
 */
export function createTransactionGroups(db: Database, options: { maxGroup: number; lock?: (tx: Tx, sortedKeys: string[]) => Promise<void> }) {
  const { maxGroup, lock } = options;
  const batches = createBatches<Piece, unknown>(maxGroup, (group) =>
    db.transaction(async (tx) => {
      const keys = group.map((piece) => piece.key).filter((key): key is string => key !== undefined);
      if (lock && keys.length > 0) await lock(tx, [...new Set(keys)].sort());
      const out: unknown[] = [];
      for (const piece of group) out.push(await piece.work(tx));
      return out;
    }),
  );
  return {
    run<T>(key: string | undefined, work: (tx: Tx) => Promise<T>): Promise<T> {
      return batches.run({ key, work }) as Promise<T>;
    },
  };
}
