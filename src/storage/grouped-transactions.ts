import { CustosError, SubjectGone } from '../shared/errors.ts';
import type { Database, Tx } from './database.ts';
import { isUniqueViolation } from './storage-errors.ts';

interface Item<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Whether a group's failure may belong to one of its items rather than to the
 * database: a row of one item that collides with a unique key, or that
 * references a subject erased meanwhile. The items are then run again one by
 * one, so that only the item at fault fails, with its own error.
 */
export function failsOneItem(error: unknown): boolean {
  return error instanceof SubjectGone || isUniqueViolation(error);
}

/**
 * Work that arrives together, run in groups: while one group runs, arrivals
 * queue and go together into the next (at most maxGroup at a time). `run`
 * answers each item of its group in order. If it fails with an error that may
 * be one item's (failsOneItem), each item is run again alone and answered by
 * its own result; any other failure (the database is down) fails every item.
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
          if (group.length > 1 && failsOneItem(error)) await runEachAlone(group);
          else for (const g of group) g.reject(error);
        }
      }
    } finally {
      running = false;
    }
  }

  async function runEachAlone(group: Array<Item<I, R>>): Promise<void> {
    for (const g of group) {
      try {
        g.resolve((await run([g.item]))[0]!);
      } catch (error) {
        g.reject(error);
      }
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

/** A piece's own refusal inside a group: the group's transaction rolls back and runs again without it. */
class PieceRefused extends Error {
  constructor(
    readonly index: number,
    readonly refusal: CustosError,
  ) {
    super('a piece of the group refused');
  }
}

/**
 * Runs small write transactions that arrive together as one transaction, each
 * piece in arrival order, so they share one commit (one fsync) instead of
 * queueing for the write lock one by one. Every piece still sees the writes of
 * the pieces before it. All keys of a group are locked first, in sorted order
 * (in one call), so two replicas running groups can never deadlock on each other's locks.
 * Pieces without a key take no lock.
 *
 * One piece never fails another. A piece that refuses (throws a CustosError:
 * a 4xx of its own) answers only its own request: the transaction rolls back
 * (nothing of any piece was committed) and runs again without it. A refusal
 * thrown inside a piece must not itself write (audit it after, outside the
 * transaction, e.g. by returning the decision), since the group holds the
 * write lock. A group whose commit fails on one piece's rows (a unique key, an
 * erased subject) runs each piece alone (createBatches). Any other failure
 * fails every piece, and nothing is committed.
 */
export function createTransactionGroups(db: Database, options: { maxGroup: number; lock?: (tx: Tx, sortedKeys: string[]) => Promise<void> }) {
  const { maxGroup, lock } = options;
  type Outcome = { ok: true; value: unknown } | { ok: false; error: CustosError };

  async function runTogether(group: Piece[]): Promise<unknown[]> {
    return db.transaction(async (tx) => {
      const keys = group.map((piece) => piece.key).filter((key): key is string => key !== undefined);
      if (lock && keys.length > 0) await lock(tx, [...new Set(keys)].sort());
      const out: unknown[] = [];
      for (const [index, piece] of group.entries()) {
        try {
          out.push(await piece.work(tx));
        } catch (error) {
          if (error instanceof CustosError && !failsOneItem(error)) throw new PieceRefused(index, error);
          throw error;
        }
      }
      return out;
    });
  }

  const batches = createBatches<Piece, Outcome>(maxGroup, async (group) => {
    const outcomes = new Map<Piece, Outcome>();
    for (let live = group; live.length > 0;) {
      try {
        const values = await runTogether(live);
        live.forEach((piece, i) => outcomes.set(piece, { ok: true, value: values[i] }));
        break;
      } catch (error) {
        if (!(error instanceof PieceRefused)) throw error;
        const refused = live[error.index]!;
        outcomes.set(refused, { ok: false, error: error.refusal });
        live = live.filter((piece) => piece !== refused);
      }
    }
    return group.map((piece) => outcomes.get(piece)!);
  });

  return {
    async run<T>(key: string | undefined, work: (tx: Tx) => Promise<T>): Promise<T> {
      const outcome = await batches.run({ key, work });
      if (!outcome.ok) throw outcome.error;
      return outcome.value as T;
    },
  };
}
