import { isUniqueViolation } from '../../src/storage/database.ts';
import { adapt, execute, query } from '../../src/storage/raw-sql.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * Raw statements of a transaction (on SQLite run natively on the connection
 * under Prisma's adapter) must be part of that very transaction: seen by the
 * Prisma calls in it, and undone with it.
 */
describe('placeholders for PostgreSQL', () => {
  it('numbers only the ? that are placeholders', () => {
    expect(adapt('postgresql', 'SELECT ? AS a, \'why?\' AS b, "odd?name" AS c -- is it?\n, ? /* what? */ , $$ body? $$, ?')).toBe(
      'SELECT $1 AS a, \'why?\' AS b, "odd?name" AS c -- is it?\n, $2 /* what? */ , $$ body? $$, $3',
    );
    expect(adapt('postgresql', "SELECT 'it''s ?', ?")).toBe("SELECT 'it''s ?', $1");
    expect(adapt('postgresql', "SELECT data ?? 'key' FROM t WHERE id = ?")).toBe("SELECT data ? 'key' FROM t WHERE id = $1");
    expect(adapt('sqlite', 'SELECT ?')).toBe('SELECT ?');
  });
});

describe(`raw SQL inside transactions on ${databaseKind}`, () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  const at = new Date('2026-05-06T07:08:09.010Z');
  const insertSource = (tx: Parameters<typeof execute>[0], source: string) =>
    execute(tx, 'INSERT INTO dnc_source (source, import_id, entries, imported_at) VALUES (?, ?, ?, ?)', [source, 'imp', 1, at]);

  it('keeps a literal ? in a statement as text on the engine itself', async () => {
    const [row] = await gateway.runtime.db.transaction((tx) => query<{ a: string; b: unknown }>(tx, "SELECT 'why?' AS a, ? AS b", ['x']));
    expect(row).toEqual({ a: 'why?', b: 'x' });
  });

  it('shares the transaction with Prisma calls and rolls back with it', async () => {
    const db = gateway.runtime.db;
    await expect(
      db.transaction(async (tx) => {
        await insertSource(tx, 'rolled-back');
        expect(await tx.dncSource.findUnique({ where: { source: 'rolled-back' } })).toMatchObject({ importedAt: at, entries: 1 });
        expect(await query(tx, 'SELECT source FROM dnc_source WHERE source = ?', ['rolled-back'])).toHaveLength(1);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await db.read.dncSource.findUnique({ where: { source: 'rolled-back' } })).toBeNull();

    await db.transaction((tx) => insertSource(tx, 'kept'));
    expect(await db.read.dncSource.findUnique({ where: { source: 'kept' } })).toMatchObject({ importedAt: at });
  });

  it('reports a duplicate key as a unique violation and a storage failure (503), committing nothing', async () => {
    const db = gateway.runtime.db;
    await db.transaction((tx) => insertSource(tx, 'twice'));
    const failure = await db
      .transaction(async (tx) => {
        await execute(tx, 'UPDATE dnc_source SET entries = 7 WHERE source = ?', ['twice']);
        await insertSource(tx, 'twice');
      })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 503 });
    expect(isUniqueViolation((failure as { cause?: unknown }).cause)).toBe(true);
    expect(await db.read.dncSource.findUnique({ where: { source: 'twice' } })).toMatchObject({ entries: 1 });
  });
});
