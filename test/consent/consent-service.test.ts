import { randomBytes } from 'node:crypto';
// The schemas register their OpenAPI descriptions as they load: zod needs the extension first, as in the app.
import '../../src/http/openapi.ts';
import { deriveSigningKey } from '../../src/crypto/signing-key.ts';
import type { AuditGroupCommit } from '../../src/modules/audit/group-commit.ts';
import { createConsentService } from '../../src/modules/consent/service.ts';
import { loadPolicy } from '../../src/modules/policies/load.ts';
import type { RequestContext } from '../../src/shared/request-context.ts';
import { createFakeConsentStore } from '../support/fakes/fake-consent-store.ts';
import { createFakeDatabase } from '../support/fakes/fake-database.ts';
import { EXAMPLE_POLICY_DIR } from '../support/gateway.ts';

/**
 * The consent ledger's write paths on in-memory fakes: grants, narrowing,
 * withdrawals, a Global Privacy Control signal, and a customer's opt-out,
 * each as entries of the subject's ledger and its kept state, fast.
 */
describe('consent ledger on fakes', () => {
  const base = loadPolicy(EXAMPLE_POLICY_DIR).policy;
  // The example policy, plus a consent purpose that sells data to partners, so that Sec-GPC: 1 has something to withdraw.
  const policy = { ...base, purposes: { ...base.purposes, partners: { ...base.purposes.marketing!, description: 'Offers from partner brands', sale: true } } };
  const ctx: RequestContext = { actor: { type: 'app', id: 'app_test' }, requestId: 'req', policyVersion: 'test' };
  const caller = { clientId: 'app_test', purposes: ['marketing', 'support', 'partners'] };

  async function ledger() {
    const store = createFakeConsentStore();
    const db = createFakeDatabase([store]);
    const audit = {
      record: async () => undefined,
      refuse: async (_c: unknown, _e: unknown, error: Error) => Promise.reject(error),
      unlessErased: <T>(_c: unknown, _e: unknown, w: Promise<T>) => w,
    } as unknown as AuditGroupCommit;
    const service = createConsentService({
      db,
      policy,
      audit,
      signingKey: await deriveSigningKey(randomBytes(32)),
      issuer: 'http://custos.test',
      policyUrl: 'http://custos.test/privacy',
      subjectOfRef: async (_app, ref) => (ref === 'ref_known' ? 'sub_known' : undefined),
      store,
    });
    return { service, store, db };
  }

  it('grants with a signed receipt, withdraws a topic, then the purpose: one numbered entry each, kept state moved on', async () => {
    const { service, store } = await ledger();
    const granted = await service.grant(ctx, caller, 'ref_known', 'marketing', { source: 'web-form', noticeVersion: 'n1' }, { gpc: false });
    expect(granted.receipt.split('.')).toHaveLength(3);
    expect(granted.state).toMatchObject({ status: 'active', channels: ['email', 'sms', 'call'] });
    await service.withdraw(ctx, caller, 'ref_known', 'marketing', { source: 'call-centre', topics: ['bird-food'] }, { gpc: false });
    const withdrawn = await service.withdraw(ctx, caller, 'ref_known', 'marketing', { source: 'app' }, { gpc: false });
    expect(withdrawn.state.status).toBe('withdrawn');
    // Withdrawing what is not in force leaves the ledger as it is.
    await service.withdraw(ctx, caller, 'ref_known', 'marketing', { source: 'app' }, { gpc: false });
    const entries = store.ledgers.get('sub_known')!.entries;
    expect(entries.map((e) => [e.seq, e.kind, e.source])).toEqual([
      [1, 'grant', 'web-form'],
      [2, 'withdraw', 'call-centre'],
      [3, 'withdraw', 'app'],
    ]);
    expect(store.ledgers.get('sub_known')!.kept.get('marketing')!.status).toBe('withdrawn');
  });

  it('refuses what the policy does not allow, writing nothing: another purpose, a recipient it does not declare, a grant with Sec-GPC: 1 of a sale purpose', async () => {
    const { service, store } = await ledger();
    await expect(service.grant(ctx, { ...caller, purposes: ['support'] }, 'ref_known', 'marketing', { source: 's', noticeVersion: 'n' }, { gpc: false })).rejects.toMatchObject({ status: 403 });
    await expect(service.grant(ctx, caller, 'ref_known', 'marketing', { source: 's', noticeVersion: 'n', recipients: ['someone'] }, { gpc: false })).rejects.toMatchObject({
      status: 422,
      extensions: { violations: [{ field: 'recipients[0]', reason: 'not a recipient of marketing (the policy declares none)' }] },
    });
    await expect(service.grant(ctx, caller, 'ref_known', 'partners', { source: 's', noticeVersion: 'n' }, { gpc: true })).rejects.toMatchObject({ status: 422 });
    await expect(service.grant(ctx, caller, 'ref_unknown', 'marketing', { source: 's', noticeVersion: 'n' }, { gpc: false })).rejects.toMatchObject({ status: 404 });
    expect(store.ledgers.size).toBe(0);
  });

  it('withdraws every active sale purpose when a request carries Sec-GPC: 1, and a customer opt-out withdraws what is in force once', async () => {
    const { service, store } = await ledger();
    await service.grant(ctx, caller, 'ref_known', 'partners', { source: 'web-form', noticeVersion: 'n1' }, { gpc: false });
    // A grant of another purpose, sent by a browser with Sec-GPC: 1: the sale purpose is withdrawn in the same transaction.
    await service.grant(ctx, caller, 'ref_known', 'marketing', { source: 'web-form', noticeVersion: 'n1' }, { gpc: true });
    expect(store.ledgers.get('sub_known')!.entries.map((e) => [e.seq, e.purpose, e.kind, e.source])).toEqual([
      [1, 'partners', 'grant', 'web-form'],
      [2, 'partners', 'withdraw', 'gpc'],
      [3, 'marketing', 'grant', 'web-form'],
    ]);
    expect(store.ledgers.get('sub_known')!.kept.get('partners')!.status).toBe('withdrawn');
    expect(await service.withdrawForSubject(ctx, 'sub_known', [{ purpose: 'marketing' }, { purpose: 'partners' }, { purpose: 'support' }], 'privacy-request')).toEqual(['marketing']);
    expect(await service.withdrawForSubject(ctx, 'sub_known', [{ purpose: 'marketing' }], 'privacy-request')).toEqual([]);
    expect(store.ledgers.get('sub_known')!.entries.at(-1)).toMatchObject({ seq: 4, kind: 'withdraw', source: 'privacy-request' });
  });
});
