import request from 'supertest';
import { appendAuditEvent, verifyAuditChain } from '../../src/modules/audit/service.ts';
import { Unavailable } from '../../src/shared/errors.ts';
import { auditEvents, createTestApp, startTestGateway, systemContext, type TestGateway } from '../support/gateway.ts';
import { runTestSql } from '../support/sql.ts';

describe('audit core', () => {
  let gateway: TestGateway;
  beforeEach(async () => {
    gateway = await startTestGateway();
  });
  afterEach(() => gateway.close());

  it('chains every event to the one before it, with the policy version and request id', async () => {
    const crm = await createTestApp(gateway, ['support']);
    await request(gateway.app).post('/oauth/token').type('form').set('X-Request-Id', 'req-chain-1').send({ grant_type: 'client_credentials', client_id: crm.clientId, client_secret: crm.clientSecret });
    const events = await auditEvents(gateway);
    expect(events.map((e) => e.action)).toEqual(['auth.app.create', 'auth.token.issue']);
    expect(events.map((e) => e.seq)).toEqual(['1', '2']);
    expect(events[1]).toMatchObject({ requestId: 'req-chain-1', policyVersion: gateway.runtime.loaded.version, actor: { type: 'app', id: crm.clientId } });
    const rows = await gateway.runtime.db.read.auditEvent.findMany({ orderBy: { seq: 'asc' } });
    expect(rows[1]!.prevHash).toBe(rows[0]!.hash);
    expect(await verifyAuditChain(gateway.runtime.db.read)).toEqual({ ok: true, checked: 2, headSeq: '2' });
  });

  it('keeps a strict, gap-free order under 60 concurrent appends', async () => {
    const ctx = systemContext(gateway);
    await Promise.all(Array.from({ length: 60 }, (_, i) => gateway.runtime.db.transaction((tx) => appendAuditEvent(tx, { ...ctx, requestId: `r${i}` }, { action: 'test.concurrent', decision: 'info' }))));
    const events = await auditEvents(gateway, 'test.concurrent');
    expect(events.map((e) => Number(e.seq))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(new Set(events.map((e) => e.requestId)).size).toBe(60);
    expect((await verifyAuditChain(gateway.runtime.db.read)).ok).toBe(true);
  });

  it('refuses to edit or delete an event (append-only at the database)', async () => {
    await createTestApp(gateway, ['support']);
    await expect(gateway.runtime.db.transaction((tx) => tx.auditEvent.updateMany({ data: { decision: 'allow' } }))).rejects.toBeInstanceOf(Unavailable);
    await expect(gateway.runtime.db.transaction((tx) => tx.auditEvent.deleteMany({}))).rejects.toBeInstanceOf(Unavailable);
    expect(await auditEvents(gateway)).toHaveLength(1);
  });

  it('names the first edited event when someone tampers with the trail behind its back', async () => {
    for (let i = 0; i < 5; i++) await createTestApp(gateway, ['support']);
    await runTestSql(gateway, 'allowTampering');
    await gateway.runtime.db.transaction((tx) => tx.auditEvent.update({ where: { seq: 3n }, data: { purpose: 'marketing' } }));
    const result = await verifyAuditChain(gateway.runtime.db.read);
    expect(result).toMatchObject({ ok: false, checked: 2, firstBad: { seq: '3', problem: 'content does not match its leaf hash (edited)' } });
  });

  it('notices a deleted event', async () => {
    for (let i = 0; i < 4; i++) await createTestApp(gateway, ['support']);
    await runTestSql(gateway, 'allowTampering');
    await gateway.runtime.db.transaction((tx) => tx.auditEvent.delete({ where: { seq: 2n } }));
    expect(await verifyAuditChain(gateway.runtime.db.read)).toMatchObject({ ok: false, firstBad: { seq: '3', problem: 'expected sequence 2; an event is missing' } });
  });

  describe('when the audit trail cannot be written', () => {
    it('fails the request with 503 and commits nothing of it', async () => {
      const crm = await createTestApp(gateway, ['support']);
      await runTestSql(gateway, 'failAuditAppends');

      const token = await request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: crm.clientId, client_secret: crm.clientSecret });
      expect(token.status).toBe(503);
      expect(token.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(token.headers['retry-after']).toBe('1');
      expect(token.body).toMatchObject({ type: 'urn:custos:problem:unavailable' });
      expect(token.body).not.toHaveProperty('access_token');
      expect(token.text).not.toContain('simulated disk failure');

      await expect(gateway.runtime.auth.createApp(systemContext(gateway), { name: 'Never stored', purposes: ['support'], reveal: [] })).rejects.toBeInstanceOf(Unavailable);
      expect(await gateway.runtime.db.read.app.count()).toBe(1);
      const head = await gateway.runtime.db.read.auditHead.findUniqueOrThrow({ where: { id: 1 } });
      expect(head.seq).toBe(1n);

      await runTestSql(gateway, 'restoreAuditAppends');
      expect((await request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: crm.clientId, client_secret: crm.clientSecret })).status).toBe(200);
      expect(await verifyAuditChain(gateway.runtime.db.read)).toMatchObject({ ok: true, checked: 2 });
    });
  });
});
