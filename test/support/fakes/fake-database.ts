import type { Database, DbClient, Tx } from '../../../src/storage/database.ts';
import { sqliteEngine } from '../../../src/storage/engine.ts';
import type { SqlStatement } from '../../../src/storage/raw-sql.ts';
import { openUnitOfWork } from '../../../src/storage/unit-of-work.ts';

/** State a fake store keeps, so a fake transaction that fails leaves it as it was. */
export interface FakeParticipant {
  snapshot(): () => void;
}

/**
 * A Database for unit tests of services over in-memory fake stores: its
 * transactions hand out a real unit of work (so services append audit events
 * and last writes as they do on a real engine), keep the last writes they
 * would have sent (`committed`), run after-commit work, and on a failure
 * restore every participant's state (rollback). Services that only use
 * their store and the unit of work run on it unchanged.
 */
export function createFakeDatabase(participants: FakeParticipant[] = []) {
  const committed: SqlStatement[][] = [];
  let queue: Promise<unknown> = Promise.resolve();
  const database = {
    kind: 'sqlite',
    adapter: sqliteEngine,
    read: {} as DbClient,
    committed,
    readRaw: () => Promise.reject(new Error('the fake database runs no SQL')),
    writeAlone: () => Promise.reject(new Error('the fake database runs no SQL')),
    // One transaction at a time, as SQLite's one writer: a transaction waits for the one before it.
    transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
      const run = queue.then(async () => {
        const restores = participants.map((p) => p.snapshot());
        const opened = openUnitOfWork(sqliteEngine, database);
        try {
          const result = await work({ unit: opened.unit } as unknown as Tx);
          committed.push(opened.lastWrites());
          opened.committed();
          return result;
        } catch (error) {
          for (const restore of restores) restore();
          throw error;
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
    ping: async () => undefined,
    probeWrite: async () => undefined,
    close: async () => undefined,
  };
  return database as typeof database & Database;
}
