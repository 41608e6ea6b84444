import type { Database, Tx } from '../../src/storage/database.ts';
import { createTransactionGroups } from '../../src/storage/grouped-transactions.ts';

/**
 * Grouped transactions against a fake database that records what each
 * transaction did: no engine needed, so the rules are checked in milliseconds.
 */
function fakeDatabase() {
  const transactions: Array<{ locks: string[][]; pieces: string[]; committed: boolean }> = [];
  const db = {
    async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
      const record = { locks: [] as string[][], pieces: [] as string[], committed: false };
      transactions.push(record);
      const result = await work(record as unknown as Tx);
      record.committed = true;
      return result;
    },
  } as unknown as Database;
  const lock = async (tx: Tx, keys: string[]) => void (tx as unknown as { locks: string[][] }).locks.push(keys);
  const piece =
    (name: string, result: unknown = name) =>
    async (tx: Tx) => {
      (tx as unknown as { pieces: string[] }).pieces.push(name);
      return result;
    };
  return { db, transactions, lock, piece };
}

describe('grouped transactions', () => {
  it('runs pieces that arrive together in one transaction, in arrival order, each with its own answer', async () => {
    const { db, transactions, lock, piece } = fakeDatabase();
    const groups = createTransactionGroups(db, { maxGroup: 10, lock });
    const answers = await Promise.all(['a', 'b', 'c'].map((name) => groups.run(`k-${name}`, piece(name, name.toUpperCase()))));
    expect(answers).toEqual(['A', 'B', 'C']);
    expect(transactions).toEqual([{ locks: [['k-a', 'k-b', 'k-c']], pieces: ['a', 'b', 'c'], committed: true }]);
  });

  it('locks each key once, in sorted order, in one call before any piece runs; pieces without a key take no lock', async () => {
    const { db, transactions, lock, piece } = fakeDatabase();
    const groups = createTransactionGroups(db, { maxGroup: 10, lock });
    await Promise.all([groups.run('z', piece('1')), groups.run('m', piece('2')), groups.run('z', piece('3')), groups.run(undefined, piece('4'))]);
    expect(transactions[0]!.locks).toEqual([['m', 'z']]);
    expect(transactions[0]!.pieces).toEqual(['1', '2', '3', '4']);
  });

  it('never puts more than maxGroup pieces in one transaction', async () => {
    const { db, transactions, piece } = fakeDatabase();
    const groups = createTransactionGroups(db, { maxGroup: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => groups.run(undefined, piece(name))));
    expect(transactions.map((t) => t.pieces)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('fails every piece of a group when one fails, and commits none of it; the next group is not affected', async () => {
    const { db, transactions, piece } = fakeDatabase();
    const groups = createTransactionGroups(db, { maxGroup: 3 });
    const failing = async () => {
      throw new Error('constraint broken');
    };
    const first = [groups.run(undefined, piece('a')), groups.run(undefined, failing), groups.run(undefined, piece('c'))].map((p) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    const later = groups.run(undefined, piece('d'));
    expect(await Promise.all(first)).toEqual(['constraint broken', 'constraint broken', 'constraint broken']);
    expect(await later).toBe('d');
    expect(transactions.map((t) => t.committed)).toEqual([false, true]);
  });
});
