import { lockTreeState } from '../../src/modules/audit/store.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { backendOf, someoneWaitsFor } from '../support/locks.ts';

/**
 * One integrator at a time: the state row's lock. A background integrator
 * that finds it taken moves on (its connection goes back to the pool); one
 * that must place everything (flush) waits its turn.
 */
const onPostgres = databaseKind === 'postgresql' ? describe : describe.skip;

onPostgres('the audit integrator lock on PostgreSQL', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_INTEGRATOR: 'false' });
  });
  afterAll(() => gateway.close());

  it('answers at once that the lock is taken when asked to skip, and waits for it otherwise', async () => {
    const db = gateway.runtime.db;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let taken!: () => void;
    const isTaken = new Promise<void>((resolve) => (taken = resolve));
    let holderPid = 0;
    const holder = db.transaction(async (tx) => {
      expect(await lockTreeState(tx)).toMatchObject({ treeSize: expect.any(Number) });
      holderPid = await backendOf(tx);
      taken();
      await held;
    });
    await isTaken;

    expect(await db.transaction((tx) => lockTreeState(tx, { skipIfTaken: true }))).toBeUndefined();
    let waited = false;
    const waiter = db.transaction(async (tx) => {
      const state = await lockTreeState(tx);
      waited = true;
      return state;
    });
    await someoneWaitsFor(gateway, holderPid);
    expect(waited).toBe(false);
    release();
    await holder;
    expect(await waiter).toMatchObject({ treeSize: expect.any(Number) });
    expect(waited).toBe(true);
  });
});
