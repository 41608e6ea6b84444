import fc from 'fast-check';
import { consentAt, emptyConsent, foldConsent } from '../../src/modules/consent/state.ts';
import type { ConsentState } from '../../src/modules/consent/schema.ts';
import * as store from '../../src/modules/consent/store.ts';
import { appToken, createTestApp, startTestGateway, systemContext, type TestGateway } from '../support/gateway.ts';
import request from 'supertest';

/**
 * The consent state kept beside the ledger (one row read and written per
 * grant or withdrawal) must always equal what folding the whole ledger gives:
 * random grant / narrow / withdraw / expire sequences through the service,
 * then the kept row against the fold of the stored ledger.
 */
describe('kept consent state', () => {
  let gateway: TestGateway;
  let token: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    token = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support']));
  });
  afterAll(() => gateway.close());

  const channels = fc.subarray(['email', 'sms', 'call'], { minLength: 1 });
  const topics = fc.subarray(['cat-food', 'dog-food', 'bird-food'], { minLength: 1 });
  const operation = fc.oneof(
    fc.record({
      kind: fc.constant('grant' as const),
      channels: fc.option(channels, { nil: undefined }),
      topics: fc.option(topics, { nil: undefined }),
      expiresInMs: fc.option(fc.integer({ min: 60, max: 400 }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('withdraw' as const), channels: fc.option(channels, { nil: undefined }), topics: fc.option(topics, { nil: undefined }) }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 300 }) }),
  );

  const callerOf = async () => ({ clientId: (await gateway.runtime.auth.listApps())[0]!.clientId, purposes: ['marketing', 'support'] });
  const marketing = () => gateway.runtime.loaded.policy.purposes.marketing!;
  let person = 0;
  /** The kept row of the marketing purpose, as stored. */
  const keptRow = async (subjectId: string): Promise<ConsentState | undefined> => {
    const row = await gateway.runtime.db.read.consentState.findUnique({ where: { subjectId_purpose: { subjectId, purpose: 'marketing' } } });
    return row ? (JSON.parse(row.state) as ConsentState) : undefined;
  };
  /** A new person, with a phone number no other run used. */
  const newRef = async () => {
    const phone = `137${String(person++).padStart(8, '0')}`;
    return (await request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${token}`).send({ purpose: 'marketing', identifiers: { phone } })).body.ref as string;
  };

  it('always equals the fold of the ledger', async () => {
    const caller = await callerOf();
    const definition = marketing();
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 8 }), async (ops) => {
        const ref = await newRef();
        const ctx = systemContext(gateway);
        for (const op of ops) {
          if (op.kind === 'wait') await new Promise((resolve) => setTimeout(resolve, op.ms));
          else if (op.kind === 'grant') {
            const expiresAt = op.expiresInMs ? new Date(Date.now() + op.expiresInMs + 5).toISOString() : undefined;
            await gateway.runtime.consent.grant(ctx, caller, ref, 'marketing', { source: 'property', noticeVersion: 'n1', channels: op.channels, topics: op.topics, expiresAt }, { gpc: false });
          } else await gateway.runtime.consent.withdraw(ctx, caller, ref, 'marketing', { source: 'property', channels: op.channels, topics: op.topics }, { gpc: false });
        }
        const subjectId = (await gateway.runtime.subjects.subjectOfRef(caller.clientId, ref))!;
        const now = new Date();
        const kept = await keptRow(subjectId);
        const ledger = await store.readLedger(gateway.runtime.db.read, subjectId);
        expect(consentAt(kept ?? emptyConsent('marketing'), now)).toEqual(foldConsent('marketing', definition, ledger, now));
        // The service reads the clock itself: its answer is the fold as of some instant during the call.
        const before = new Date();
        const { state } = await gateway.runtime.consent.checkConsent(subjectId, 'marketing');
        const after = new Date();
        expect([foldConsent('marketing', definition, ledger, before), foldConsent('marketing', definition, ledger, after)]).toContainEqual(state);
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 40) },
    );
  }, 120_000);

  it('equals the fold when writes to one ledger arrive together and share a transaction', async () => {
    const caller = await callerOf();
    const definition = marketing();
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 2, maxLength: 12 }), async (ops) => {
        const ref = await newRef();
        const ctx = systemContext(gateway);
        // All at once: the grouped transaction appends them one after another, each seeing the ones before.
        await Promise.all(
          ops.map((op) =>
            op.kind === 'withdraw'
              ? gateway.runtime.consent.withdraw(ctx, caller, ref, 'marketing', { source: 'property', channels: op.channels, topics: op.topics }, { gpc: false })
              : gateway.runtime.consent.grant(ctx, caller, ref, 'marketing', { source: 'property', noticeVersion: 'n1', channels: op.kind === 'grant' ? op.channels : undefined }, { gpc: false }),
          ),
        );
        const subjectId = (await gateway.runtime.subjects.subjectOfRef(caller.clientId, ref))!;
        const now = new Date();
        const ledger = await store.readLedger(gateway.runtime.db.read, subjectId);
        expect(ledger.map((e) => e.seq)).toEqual(ledger.map((_, i) => i + 1));
        const kept = await keptRow(subjectId);
        expect(consentAt(kept ?? emptyConsent('marketing'), now)).toEqual(foldConsent('marketing', definition, ledger, now));
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 25) },
    );
  }, 120_000);

  it('is folded once from the ledger for ledgers written before it existed', async () => {
    const db = gateway.runtime.db;
    const before = await db.read.consentState.findMany({ orderBy: [{ subjectId: 'asc' }, { purpose: 'asc' }] });
    expect(before.length).toBeGreaterThan(0);
    await db.transaction((tx) => tx.consentState.deleteMany({}));
    expect(await gateway.runtime.consent.foldLegacyLedgers()).toBe(before.length);
    expect(await db.read.consentState.findMany({ orderBy: [{ subjectId: 'asc' }, { purpose: 'asc' }] })).toEqual(before);
    expect(await gateway.runtime.consent.foldLegacyLedgers()).toBe(0);
  });
});
