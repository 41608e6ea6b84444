import type { Database } from '../../src/storage/database.ts';
import { requireThat } from '../../src/storage/engine.ts';
import { execute, query } from '../../src/storage/raw-sql.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * The storage conformance suite (trillian's storage/testonly, in spirit):
 * the same cases against whichever engine this run uses (npm test on
 * SQLite; CI runs the suite again on PostgreSQL), so the engine adapters'
 * SQL means the same thing on both. A store may rely on what is tested here.
 */
describe(`engine adapter conformance on ${databaseKind}`, () => {
  let gateway: TestGateway;
  let db: Database;
  const at = new Date('2026-05-06T07:08:09.010Z');

  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_INTEGRATOR: 'false' });
    db = gateway.runtime.db;
    await db.transaction(async (tx) => {
      for (const [source, entries] of [
        ['conf-a', 1],
        ['conf-b', 2],
        ['conf-c', 3],
      ] as const)
        await execute(tx, 'INSERT INTO dnc_source (source, import_id, entries, imported_at) VALUES (?, ?, ?, ?)', [source, 'imp', entries, at]);
    });
  });
  afterAll(() => gateway.close());

  const sources = async (where: string, params: unknown[]) => (await db.readRaw<{ source: string }>(`SELECT source FROM dnc_source WHERE ${where} ORDER BY source`, params)).map((r) => r.source);

  it('matches a column against a list bound as one parameter, of any length, empty included', async () => {
    const { adapter } = db;
    expect(await sources(adapter.inList('source'), [adapter.listParam(['conf-a', 'conf-c', 'nobody'])])).toEqual(['conf-a', 'conf-c']);
    expect(await sources(adapter.inList('source'), [adapter.listParam([])])).toEqual([]);
    const many = Array.from({ length: 5000 }, (_, i) => `x-${i}`).concat('conf-b');
    expect(await sources(adapter.inList('source'), [adapter.listParam(many)])).toEqual(['conf-b']);
  });

  it('unpacks a JSON array parameter into rows, as 64-bit integers where asked, and inserts skipping duplicates', async () => {
    const { adapter } = db;
    const big = 9_007_199_254_740_993n;
    const inserted = await db.transaction((tx) =>
      execute(tx, `INSERT INTO dnc_number (import_no, tag) SELECT ?, ${adapter.asBigint('value')} FROM ${adapter.jsonElements()} WHERE true ON CONFLICT DO NOTHING`, [777, `[${big}, -5, ${big}]`]),
    );
    expect(inserted).toBe(2);
    const rows = await db.read.dncNumber.findMany({ where: { importNo: 777 }, orderBy: { tag: 'asc' } });
    expect(rows.map((r) => r.tag)).toEqual([-5n, big]);
  });

  it('builds JSON of a row set that reads back the same values on both engines', async () => {
    const { adapter } = db;
    const [row] = await db.readRaw<{ value: unknown }>(
      `SELECT ${adapter.jsonObject({ n: 'COUNT(*)', rows: adapter.jsonRowsAgg(['source', 'entries']) })} AS "value" FROM dnc_source WHERE ${adapter.inList('source')}`,
      [adapter.listParam(['conf-a', 'conf-b'])],
    );
    const value = (typeof row!.value === 'string' ? JSON.parse(row!.value) : row!.value) as { n: number; rows: Array<[string, number]> };
    expect(value.n).toBe(2);
    expect(value.rows.sort()).toEqual([
      ['conf-a', 1],
      ['conf-b', 2],
    ]);
  });

  it('digests rows in a set order: the same rows give the same digest whatever their physical order, a changed row another', async () => {
    const { adapter } = db;
    const digest = async (names: string[]) =>
      (
        await db.readRaw<{ d: string }>(`SELECT ${adapter.orderedDigest(`source || '/' || entries`, 'source')} AS "d" FROM dnc_source WHERE ${adapter.inList('source')}`, [adapter.listParam(names)])
      )[0]!.d;
    const forward = await digest(['conf-a', 'conf-b', 'conf-c']);
    expect(await digest(['conf-c', 'conf-a', 'conf-b'])).toBe(forward);
    expect(forward).toMatch(/^[0-9a-f]{32}$/);
    expect(await digest(['nobody'])).toBe('d41d8cd98f00b204e9800998ecf8427e'); // md5 of ''
    await db.transaction((tx) => execute(tx, 'UPDATE dnc_source SET entries = 9 WHERE source = ?', ['conf-c']));
    expect(await digest(['conf-a', 'conf-b', 'conf-c'])).not.toBe(forward);
  });

  it('writes alone all or nothing: a guard that refuses leaves no row and answers false; one that holds writes all', async () => {
    const row = (source: string) => ({ sql: 'INSERT INTO dnc_source (source, import_id, entries, imported_at) VALUES (?, ?, ?, ?)', params: [source, 'imp', 0, at] });
    expect(await db.writeAlone([row('guard-1'), row('guard-2')], [requireThat('1 = ?', [2], 'one is not two')])).toBe(false);
    expect(await sources(db.adapter.inList('source'), [db.adapter.listParam(['guard-1', 'guard-2'])])).toEqual([]);
    expect(await db.writeAlone([row('guard-1'), row('guard-2')], [requireThat('1 = ?', [1], 'one is one')])).toBe(true);
    expect(await sources(db.adapter.inList('source'), [db.adapter.listParam(['guard-1', 'guard-2'])])).toEqual(['guard-1', 'guard-2']);
  });

  it('re-checks under a lock what a decision counted: the same count is kept, a changed one refused', async () => {
    const { adapter } = db;
    const counted = `${adapter.orderedDigest(`source || '/' || entries`, 'source')} FROM dnc_source WHERE source = ? OR source = ?`;
    const check = { sql: `SELECT ${counted}`, params: ['conf-a', 'conf-b'] };
    const [{ d: seen }] = (await db.readRaw<{ d: string }>(`SELECT ${counted.replace(' FROM', ' AS "d" FROM')}`, check.params)) as [{ d: string }];
    const row = (source: string) => ({ sql: 'INSERT INTO dnc_source (source, import_id, entries, imported_at) VALUES (?, ?, ?, ?)', params: [source, 'imp', 0, at] });
    expect(await db.writeAlone([row('recheck-1')], [adapter.recheckUnderLock('contact', 'conf', check, seen, 'changed')])).toBe(true);
    await db.transaction((tx) => execute(tx, 'UPDATE dnc_source SET entries = entries + 1 WHERE source = ?', ['conf-a']));
    expect(await db.writeAlone([row('recheck-2')], [adapter.recheckUnderLock('contact', 'conf', check, seen, 'changed')])).toBe(false);
    expect(await sources(adapter.inList('source'), [adapter.listParam(['recheck-1', 'recheck-2'])])).toEqual(['recheck-1']);
  });

  it("sends a transaction's last writes so that they commit together, in the order asked where it matters", async () => {
    await db.transaction(async (tx) => {
      tx.unit.lastly(() => [{ sql: 'INSERT INTO dnc_source (source, import_id, entries, imported_at) VALUES (?, ?, ?, ?)', params: ['last-1', 'imp', 1, at] }]);
      tx.unit.lastly(() => [{ sql: 'INSERT INTO job_lease (name, holder, until) VALUES (?, ?, ?)', params: ['last-lease', 'conformance', at] }]);
    });
    expect(await sources('source = ?', ['last-1'])).toEqual(['last-1']);
    expect(await db.read.jobLease.count({ where: { name: 'last-lease' } })).toBe(1);
    // A last write that fails takes the whole transaction with it.
    const failed = await db
      .transaction(async (tx) => {
        await execute(tx, 'UPDATE dnc_source SET entries = 100 WHERE source = ?', ['last-1']);
        tx.unit.lastly(() => [{ sql: 'INSERT INTO job_lease (name, holder, until) VALUES (?, ?, ?)', params: ['last-lease', 'again', at] }]);
      })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ status: 503 });
    expect((await db.read.dncSource.findUniqueOrThrow({ where: { source: 'last-1' } })).entries).toBe(1);
  });

  it('holds rows a write will change (row lock) and serialises writers of one key (advisory lock) until the transaction ends', async () => {
    const { adapter } = db;
    // SQLite takes neither: every write transaction holds the one write lock already.
    expect(adapter.rowLock('update') === '').toBe(databaseKind === 'sqlite');
    expect(adapter.lockKeys('consent', ['a']) === undefined).toBe(databaseKind === 'sqlite');
    expect(adapter.lockKeys('consent', [])).toBeUndefined();
    // Either way, two writers of the same key never interleave: the second sees the first's committed write.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const order: string[] = [];
    const first = db.transaction(async (tx) => {
      const lock = adapter.lockKeys('consent', ['conformance-key']);
      if (lock) await execute(tx, lock.sql, lock.params);
      locked();
      await held;
      await execute(tx, 'UPDATE dnc_source SET entries = 50 WHERE source = ?', ['conf-b']);
      order.push('first');
    });
    await isLocked;
    const second = db.transaction(async (tx) => {
      const lock = adapter.lockKeys('consent', ['conformance-key']);
      if (lock) await execute(tx, lock.sql, lock.params);
      const [row] = await query<{ entries: number | bigint }>(tx, `SELECT entries FROM dnc_source WHERE source = ?${adapter.rowLock('update')}`, ['conf-b']);
      order.push(`second saw ${Number(row!.entries)}`);
    });
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second saw 50']);
  });
});
