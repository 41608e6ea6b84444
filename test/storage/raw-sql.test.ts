import pg from 'pg';
import { isUniqueViolation } from '../../src/storage/database.ts';
import { postgresEngine, sqliteEngine } from '../../src/storage/engine.ts';
import { execute, query } from '../../src/storage/raw-sql.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * Raw statements of a transaction (on SQLite run natively on the connection
 * under Prisma's adapter) must be part of that very transaction: seen by the
 * Prisma calls in it, and undone with it.
 */
describe('placeholders for PostgreSQL', () => {
  it('numbers only the ? that are placeholders', () => {
    expect(postgresEngine.adapt('SELECT ? AS a, \'why?\' AS b, "odd?name" AS c -- is it?\n, ? /* what? */ , $$ body? $$, ?')).toBe(
      'SELECT $1 AS a, \'why?\' AS b, "odd?name" AS c -- is it?\n, $2 /* what? */ , $$ body? $$, $3',
    );
    expect(postgresEngine.adapt("SELECT 'it''s ?', ?")).toBe("SELECT 'it''s ?', $1");
    expect(postgresEngine.adapt("SELECT data ?? 'key' FROM t WHERE id = ?")).toBe("SELECT data ? 'key' FROM t WHERE id = $1");
    expect(sqliteEngine.adapt('SELECT ?')).toBe('SELECT ?');
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

  it('writes statements alone all together or not at all', async () => {
    const db = gateway.runtime.db;
    const source = (name: string) => ({ sql: 'INSERT INTO dnc_source (source, import_id, entries, imported_at) VALUES (?, ?, ?, ?)', params: [name, 'imp', 2, at] });
    expect(await db.writeAlone([source('alone-1'), source('alone-2')])).toBe(true);
    expect(await db.read.dncSource.count({ where: { source: { in: ['alone-1', 'alone-2'] } } })).toBe(2);

    // The second collides: the first, new, is not written either.
    const failure = await db.writeAlone([source('alone-3'), source('alone-1')]).catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 503 });
    expect(isUniqueViolation((failure as { cause?: unknown }).cause)).toBe(true);
    expect(await db.read.dncSource.findUnique({ where: { source: 'alone-3' } })).toBeNull();
  });
});

const onPostgres = databaseKind === 'postgresql' ? describe : describe.skip;

onPostgres('raw SQL on PostgreSQL goes to node-postgres directly', () => {
  let gateway: TestGateway;
  const sent: Array<{ text: string; name?: string }> = [];
  const send = pg.Client.prototype.query;
  beforeAll(async () => {
    gateway = await startTestGateway();
    pg.Client.prototype.query = function (this: pg.Client, ...args: Parameters<typeof send>) {
      const first = args[0] as unknown as string | { text: string; name?: string };
      sent.push(typeof first === 'string' ? { text: first } : first);
      return (send as (...a: unknown[]) => ReturnType<typeof send>).apply(this, args);
    } as typeof send;
  });
  afterAll(async () => {
    pg.Client.prototype.query = send;
    await gateway.close();
  });

  it("runs a transaction's statements on the connection Prisma's transaction holds, as kept prepared statements", async () => {
    const db = gateway.runtime.db;
    sent.length = 0;
    const [ours, prisma] = await db.transaction(async (tx) => [
      (await query<{ pid: number }>(tx, 'SELECT pg_backend_pid() AS pid WHERE ? = ?', [1, 1]))[0]!.pid,
      (await tx.$queryRawUnsafe<Array<{ pid: number }>>('SELECT pg_backend_pid() AS pid'))[0]!.pid,
    ]);
    expect(ours).toBe(prisma);
    expect(sent.find((s) => s.text.startsWith('SELECT pg_backend_pid() AS pid WHERE'))).toMatchObject({
      text: 'SELECT pg_backend_pid() AS pid WHERE $1 = $2',
      name: expect.stringMatching(/^custos_/),
    });
  });

  it('decodes timestamps as UTC and BIGINT as bigint, as Prisma does', async () => {
    const db = gateway.runtime.db;
    const at = new Date('2026-05-06T07:08:09.010Z');
    await db.transaction((tx) => execute(tx, 'INSERT INTO dnc_source (source, import_id, entries, imported_at) VALUES (?, ?, ?, ?)', ['utc', 'imp', 1, at]));
    const [row] = await db.readRaw<{ at: Date; n: bigint }>('SELECT imported_at AS "at", COUNT(*) OVER () AS "n" FROM dnc_source WHERE source = ?', ['utc']);
    expect(row).toEqual({ at, n: 1n });
    expect(await db.read.dncSource.findUnique({ where: { source: 'utc' } })).toMatchObject({ importedAt: at });
  });
});
