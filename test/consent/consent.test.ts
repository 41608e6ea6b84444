import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createRuntime } from '../../src/runtime.ts';
import { appToken, auditEvents, createTestApp, EXAMPLE_POLICY_DIR, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { whenClockIsLater } from '../support/clock.ts';

/** The example policy plus a purpose that shares data with partners (sale: true), for GPC. */
function policyWithSalePurpose(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-policy-'));
  const example = fs.readFileSync(path.join(EXAMPLE_POLICY_DIR, 'custos.yaml'), 'utf8');
  fs.writeFileSync(
    path.join(dir, 'custos.yaml'),
    example.replace('  support:\n', '  partnerOffers:\n    basis: consent\n    sale: true\n    collect: [email, name]\n    read: [name]\n    channels: [email]\n  support:\n'),
  );
  return dir;
}

describe('consent ledger', () => {
  let gateway: TestGateway;
  let token: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ POLICY_DIR: policyWithSalePurpose() });
    token = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support', 'partnerOffers']));
  });
  afterAll(() => gateway.close());

  const api = (app = gateway.app, bearer = token) => ({
    newSubject: async (phone: string) =>
      (
        await request(app)
          .post('/v1/subjects')
          .set('Authorization', `Bearer ${bearer}`)
          .send({ purpose: 'marketing', identifiers: { phone }, attributes: { name: 'Cat Owner', pets: ['cat'] } })
      ).body.ref as string,
    grant: (ref: string, purpose: string, body: object = {}, headers: Record<string, string> = {}) =>
      request(app)
        .put(`/v1/subjects/${ref}/consents/${purpose}`)
        .set('Authorization', `Bearer ${bearer}`)
        .set(headers)
        .send({ source: 'web-form', noticeVersion: 'notice-2026-03', ...body }),
    withdraw: (ref: string, purpose: string, body?: object, headers: Record<string, string> = {}) => {
      const req = request(app).delete(`/v1/subjects/${ref}/consents/${purpose}`).set('Authorization', `Bearer ${bearer}`).set(headers);
      return body ? req.send(body) : req;
    },
    list: (ref: string) => request(app).get(`/v1/subjects/${ref}/consents`).set('Authorization', `Bearer ${bearer}`),
    read: (ref: string, purpose: string) => request(app).get(`/v1/subjects/${ref}`).query({ purpose }).set('Authorization', `Bearer ${bearer}`),
  });

  it('grants consent and answers a receipt anyone can verify with the JWKS alone', async () => {
    const ref = await api().newSubject('13800138101');
    const response = await api().grant(ref, 'marketing', { channels: ['email', 'sms'], expiresAt: '2099-01-01T00:00:00Z' });
    expect(response.status).toBe(200);
    expect(response.body.state).toMatchObject({
      purpose: 'marketing',
      status: 'active',
      channels: ['email', 'sms'],
      topics: ['cat-food', 'dog-food', 'bird-food'],
      noticeVersion: 'notice-2026-03',
      source: 'web-form',
      expiresAt: '2099-01-01T00:00:00.000Z',
    });

    const jwks = (await request(gateway.app).get('/.well-known/jwks.json')).body;
    const { payload, protectedHeader } = await jwtVerify(response.body.receipt, createLocalJWKSet(jwks), { issuer: 'http://custos.test' });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'consent-receipt+jwt' });
    expect(payload).toMatchObject({
      version: 'KI-CR-v1.1.0',
      jurisdiction: 'CN',
      consentReceiptID: expect.any(String),
      piiPrincipalId: ref,
      collectionMethod: 'web-form',
      policyUrl: 'http://custos.test/privacy',
      consentTimestamp: expect.any(Number),
      services: [{ service: 'marketing', purposes: [expect.objectContaining({ consentType: 'EXPLICIT', purposeCategory: ['marketing'], piiCategory: ['email', 'phone', 'name', 'pets'] })] }],
      custos: { channels: ['email', 'sms'], noticeVersion: 'notice-2026-03' },
    });
    expect(payload.jti).toBe(payload.consentReceiptID);
    expect(JSON.stringify(payload)).not.toContain('13800138101');
  });

  it('gates reads of a consent-based purpose, and not of other purposes', async () => {
    const ref = await api().newSubject('13800138102');
    const refused = await api().read(ref, 'marketing');
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('urn:custos:problem:consent-required');
    expect((await api().read(ref, 'support')).status).toBe(200);
    await api().grant(ref, 'marketing');
    expect((await api().read(ref, 'marketing')).status).toBe(200);
    await api().withdraw(ref, 'marketing');
    expect((await api().read(ref, 'marketing')).status).toBe(403);
  });

  it('withdraws one topic: the cat owner gets no bird-food offers but still cat-food ones', async () => {
    const ref = await api().newSubject('13800138103');
    await api().grant(ref, 'marketing');
    const response = await api().withdraw(ref, 'marketing', { topics: ['bird-food'] });
    expect(response.status).toBe(200);
    expect(response.body.state).toMatchObject({ status: 'active', topics: ['cat-food', 'dog-food'] });
    const { checkConsent } = gateway.runtime.consent;
    const subjectId = (await gateway.runtime.subjects.subjectOfRef((await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } })).appId, ref))!;
    expect((await checkConsent(subjectId, 'marketing', { channel: 'email', topic: 'bird-food' })).allowed).toBe(false);
    expect((await checkConsent(subjectId, 'marketing', { channel: 'email', topic: 'cat-food' })).allowed).toBe(true);
    expect((await checkConsent(subjectId, 'support', { channel: 'call' })).allowed).toBe(true);
  });

  it('keeps an append-only history of grant, narrow, withdraw and expiry, with source and notice version', async () => {
    const ref = await api().newSubject('13800138104');
    await api().grant(ref, 'marketing');
    await api().grant(ref, 'marketing', { channels: ['email'], source: 'customer-portal', noticeVersion: 'notice-2026-04' });
    await api().withdraw(ref, 'marketing', { topics: ['dog-food'] });
    await api().withdraw(ref, 'marketing');
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    await api().grant(ref, 'marketing', { expiresAt });
    expect((await api().read(ref, 'marketing')).status).toBe(200);

    // A minute later no job has run: the grant simply no longer counts.
    const { read, body } = await whenClockIsLater(61_000, async () => ({ read: await api().read(ref, 'marketing'), body: (await api().list(ref)).body }));
    expect(read.status).toBe(403);
    expect(body.purposes.find((p: { purpose: string }) => p.purpose === 'marketing')).toMatchObject({ status: 'expired' });
    expect(body.purposes.find((p: { purpose: string }) => p.purpose === 'support')).toMatchObject({ status: 'none' });
    expect(body.history.map((h: { kind: string; source: string }) => `${h.kind}:${h.source}`)).toEqual([
      'grant:web-form',
      'narrow:customer-portal',
      'withdraw:app',
      'withdraw:app',
      'grant:web-form',
      'expire:expiry',
    ]);
    expect(body.history[1]).toMatchObject({ noticeVersion: 'notice-2026-04', channels: ['email'] });

    const raw = await gateway.runtime.db.read.consentEvent.findMany({ where: { purpose: 'marketing' } });
    await expect(gateway.runtime.db.transaction((tx) => tx.consentEvent.updateMany({ where: { id: raw[0]!.id }, data: { kind: 'grant' } }))).rejects.toMatchObject({ status: 503 });
  });

  it('makes a withdrawal count for the very next request on another replica', async () => {
    // In one process two SQLite writers would wait on each other synchronously; the replica leaves integration to the gateway.
    const replica = await createRuntime(loadConfig({ ...gateway.env, AUDIT_INTEGRATOR: 'false' }), createLogger('error'));
    try {
      const other = createApp(replica);
      const ref = await api().newSubject('13800138105');
      await api().grant(ref, 'marketing');
      expect((await api(other).read(ref, 'marketing')).status).toBe(200);
      await api().withdraw(ref, 'marketing');
      expect((await api(other).read(ref, 'marketing')).status).toBe(403);
    } finally {
      await replica.close();
    }
  });

  it('ends concurrent grants and withdrawals in the state the history order gives', async () => {
    const ref = await api().newSubject('13800138106');
    await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? api().grant(ref, 'marketing') : api().withdraw(ref, 'marketing'))));
    const { body } = await api().list(ref);
    const marketing = body.history.filter((h: { purpose: string }) => h.purpose === 'marketing');
    const seqs = marketing.map((h: { seq: number }) => h.seq);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const last = marketing.at(-1).kind;
    expect(body.purposes.find((p: { purpose: string }) => p.purpose === 'marketing').status).toBe(last === 'withdraw' ? 'withdrawn' : 'active');
  });

  describe('Global Privacy Control', () => {
    it('records Sec-GPC: 1 as an opt-out of every sale purpose', async () => {
      const ref = await api().newSubject('13800138107');
      await api().grant(ref, 'partnerOffers');
      expect((await api().grant(ref, 'marketing', {}, { 'Sec-GPC': '1' })).status).toBe(200);
      const { body } = await api().list(ref);
      expect(body.purposes.find((p: { purpose: string }) => p.purpose === 'partnerOffers').status).toBe('withdrawn');
      expect(body.purposes.find((p: { purpose: string }) => p.purpose === 'marketing').status).toBe('active');
      expect(body.history.find((h: { source: string }) => h.source === 'gpc')).toMatchObject({ purpose: 'partnerOffers', kind: 'withdraw', gpc: true });
    });

    it('refuses consent to a sale purpose on a request that carries Sec-GPC: 1', async () => {
      const ref = await api().newSubject('13800138108');
      const response = await api().grant(ref, 'partnerOffers', {}, { 'Sec-GPC': '1' });
      expect(response.status).toBe(422);
      expect(response.body.detail).toMatch(/Sec-GPC/);
    });
  });

  describe('bad input', () => {
    let ref: string;
    beforeAll(async () => {
      ref = await api().newSubject('13800138109');
    });

    it.each([
      ['a purpose that is not consent-based', 'support', {}, 422, /basis is contract, not consent/],
      ['a channel the purpose lacks', 'marketing', { channels: ['wechat'] }, 422, /channels\[0\]: not a channel of marketing/],
      ['a topic the purpose lacks', 'marketing', { topics: ['fish-food'] }, 422, /topics\[0\]: not a topic of marketing/],
      ['an expiry in the past', 'marketing', { expiresAt: '2020-01-01T00:00:00Z' }, 422, /expiresAt: is in the past/],
      ['a malformed date', 'marketing', { expiresAt: 'next tuesday' }, 400, /expiresAt/],
      ['duplicate topics', 'marketing', { topics: ['cat-food', 'cat-food'] }, 400, /must not repeat/],
      ['a purpose that does not exist', 'surveillance', {}, 422, /unknown-purpose/],
      ['a missing notice version', 'marketing', { noticeVersion: undefined }, 400, /noticeVersion/],
    ])('refuses %s', async (_name, purpose, body, status, detail) => {
      const before = await gateway.runtime.db.read.consentEvent.count();
      const response = await api().grant(ref, purpose, body);
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(response.body)).toMatch(detail);
      expect(await gateway.runtime.db.read.consentEvent.count()).toBe(before);
    });

    it('answers withdrawing something never granted with 200 and the state, audited', async () => {
      const response = await api().withdraw(ref, 'marketing');
      expect(response.status).toBe(200);
      expect(response.body.state.status).toBe('none');
      const events = await auditEvents(gateway, 'consent.withdraw');
      expect(events.some((e) => e.reasons.some((r) => r.code === 'nothing-in-force'))).toBe(true);
    });

    it("answers another app's ref and a made-up ref with the same 404", async () => {
      const otherToken = await appToken(gateway, await createTestApp(gateway, ['marketing']));
      for (const response of [await api(gateway.app, otherToken).grant(ref, 'marketing'), await api().grant('ref_AAAAAAAAAAAAAAAAAAAAAA', 'marketing')]) {
        expect(response.status).toBe(404);
      }
    });
  });

  it('audits every grant, withdrawal, listing and refusal', async () => {
    const actions = new Set((await auditEvents(gateway)).map((e) => `${e.action}:${e.decision}`));
    for (const expected of ['consent.grant:allow', 'consent.grant:deny', 'consent.withdraw:allow', 'consent.withdraw:info', 'consent.list:allow', 'subjects.subject.read:deny'])
      expect(actions).toContain(expected);
    const reads = await auditEvents(gateway, 'subjects.subject.read');
    // Every read records its consent check: refused for no consent, or allowed because one is active.
    expect(reads.find((e) => e.decision === 'deny' && e.reasons[0]?.code === 'no-consent')).toBeDefined();
    expect(reads.find((e) => e.decision === 'allow' && e.purpose === 'marketing')?.reasons).toEqual([{ code: 'consent-active' }]);
    expect(reads.find((e) => e.decision === 'allow' && e.purpose === 'support')?.reasons).toEqual([{ code: 'not-consent-based' }]);
  });
});
