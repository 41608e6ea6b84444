import request from 'supertest';
import { appendAuditEvent } from '../../src/modules/audit/service.ts';
import { Unavailable } from '../../src/shared/errors.ts';
import { auditEvents, createTestApp, startTestGateway, systemContext, verifyLog, type TestGateway } from '../support/gateway.ts';
import { runTestSql } from '../support/sql.ts';

describe('audit core', () => {
  let gateway: TestGateway;
  beforeEach(async () => {
    gateway = await startTestGateway();
  });
  afterEach(() => gateway.close());

  it('records each access with the policy version and request id, and places it in the log', async () => {
    const crm = await createTestApp(gateway, ['support']);
    await request(gateway.app)
      .post('/oauth/token')
      .type('form')
      .set('X-Request-Id', 'req-chain-1')
      .send({ grant_type: 'client_credentials', client_id: crm.clientId, client_secret: crm.clientSecret });
    await gateway.runtime.auditIntegrator.flush();
    const events = await auditEvents(gateway);
    expect(events.map((e) => e.action)).toEqual(['auth.app.create', 'auth.token.issue']);
    expect(events.map((e) => e.leafIndex)).toEqual([0, 1]);
    expect(events[1]).toMatchObject({ requestId: 'req-chain-1', policyVersion: gateway.runtime.loaded.version, actor: { type: 'app', id: crm.clientId } });
    expect(await verifyLog(gateway)).toMatchObject({ ok: true, treeSize: 2, checked: 2, pending: 0 });
  });

  it('keeps a strict, gap-free order under 60 concurrent appends', async () => {
    const ctx = systemContext(gateway);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => gateway.runtime.db.transaction((tx) => appendAuditEvent(tx, { ...ctx, requestId: `r${i}` }, { action: 'test.concurrent', decision: 'info' }))),
    );
    await gateway.runtime.auditIntegrator.flush();
    const events = await auditEvents(gateway, 'test.concurrent');
    expect(events.map((e) => e.leafIndex).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(new Set(events.map((e) => e.requestId)).size).toBe(60);
    expect((await verifyLog(gateway)).ok).toBe(true);
  });

  it('refuses to edit or delete an event (append-only at the database), placed or not', async () => {
    await createTestApp(gateway, ['support']);
    await expect(gateway.runtime.db.transaction((tx) => tx.auditEvent.updateMany({ data: { decision: 'allow' } }))).rejects.toBeInstanceOf(Unavailable);
    await gateway.runtime.auditIntegrator.flush();
    await expect(gateway.runtime.db.transaction((tx) => tx.auditLeaf.updateMany({ data: { leafHash: '0'.repeat(64) } }))).rejects.toBeInstanceOf(Unavailable);
    await expect(gateway.runtime.db.transaction((tx) => tx.auditLeaf.deleteMany({}))).rejects.toBeInstanceOf(Unavailable);
    await expect(gateway.runtime.db.transaction((tx) => tx.auditEvent.deleteMany({}))).rejects.toBeInstanceOf(Unavailable);
    await expect(gateway.runtime.db.transaction((tx) => tx.auditTreeHead.deleteMany({}))).rejects.toBeInstanceOf(Unavailable);
    expect(await auditEvents(gateway)).toHaveLength(1);
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
      expect(await gateway.runtime.db.read.auditEvent.count()).toBe(1);

      await runTestSql(gateway, 'restoreAuditAppends');
      expect((await request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: crm.clientId, client_secret: crm.clientSecret })).status).toBe(200);
      expect(await verifyLog(gateway)).toMatchObject({ ok: true, treeSize: 2 });
    });
  });
});
