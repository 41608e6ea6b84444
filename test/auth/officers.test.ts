import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { ACCOUNT_RECHECK_MS } from '../../src/modules/auth/service.ts';
import { createRuntime } from '../../src/runtime.ts';
import { whenClockIsLater } from '../support/clock.ts';
import { auditEvents, createTestOfficer, officerToken, startTestGateway, systemContext, type TestGateway } from '../support/gateway.ts';

describe('officers sign in with a password and act within their role', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  it("lets each role call only its own routes (403 for another role's)", async () => {
    const token = async (role: 'auditor' | 'privacy-agent' | 'admin') => {
      const o = await createTestOfficer(gateway, role);
      return officerToken(gateway, o.username, o.password);
    };
    const tokens = { auditor: await token('auditor'), 'privacy-agent': await token('privacy-agent'), admin: await token('admin') };
    const routes = [
      { name: 'GET /v1/audit/events', call: (t: string) => request(gateway.app).get('/v1/audit/events').set('Authorization', `Bearer ${t}`), roles: ['auditor', 'admin'] },
      { name: 'GET /v1/audit/stats', call: (t: string) => request(gateway.app).get('/v1/audit/stats').set('Authorization', `Bearer ${t}`), roles: ['auditor', 'admin'] },
      {
        name: 'GET /v1/dnc/check',
        call: (t: string) => request(gateway.app).get('/v1/dnc/check').query({ phone: '13800138000' }).set('Authorization', `Bearer ${t}`),
        roles: ['privacy-agent', 'admin'],
      },
      {
        name: 'POST /v1/dnc/entries',
        call: (t: string) => request(gateway.app).post('/v1/dnc/entries').send({ phone: '13800138000' }).set('Authorization', `Bearer ${t}`),
        roles: ['privacy-agent', 'admin'],
      },
      { name: 'GET /v1/policy', call: (t: string) => request(gateway.app).get('/v1/policy').set('Authorization', `Bearer ${t}`), roles: ['auditor', 'privacy-agent', 'admin'] },
    ];
    for (const route of routes) {
      for (const [role, t] of Object.entries(tokens)) {
        const answer = await route.call(t);
        expect({ route: route.name, role, allowed: answer.status !== 403 }).toEqual({ route: route.name, role, allowed: route.roles.includes(role) });
        if (answer.status === 403) expect(answer.body).toMatchObject({ type: 'urn:custos:problem:forbidden' });
      }
    }
  });

  it('signs in, carries the role, and is audited', async () => {
    const alice = await createTestOfficer(gateway, 'auditor', 'alice');
    const response = await request(gateway.app).post('/v1/officers/session').send({ username: 'alice', password: alice.password });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 28800, role: 'auditor' });

    const me = await request(gateway.app).get('/v1/officers/me').set('Authorization', `Bearer ${response.body.access_token}`);
    expect(me.body).toEqual({ id: alice.id, username: 'alice', role: 'auditor', via: 'password' });

    const signIns = await auditEvents(gateway, 'auth.officer.sign-in');
    expect(signIns.at(-1)).toMatchObject({ decision: 'allow', actor: { type: 'officer', id: alice.id } });
    const created = await auditEvents(gateway, 'auth.officer.create');
    expect(created.some((e) => e.reasons[0]?.detail === `${alice.id} auditor`)).toBe(true);
  });

  it('refuses a wrong password and an unknown username alike, and audits both', async () => {
    await createTestOfficer(gateway, 'admin', 'bob');
    const wrong = await request(gateway.app).post('/v1/officers/session').send({ username: 'bob', password: 'not-his-password' });
    const unknown = await request(gateway.app).post('/v1/officers/session').send({ username: 'nobody', password: 'whatever-password' });
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.body.detail).toBe('unknown username or wrong password');
    }
    const denied = (await auditEvents(gateway, 'auth.officer.sign-in')).filter((e) => e.decision === 'deny');
    expect(denied.map((e) => e.actor.type).sort()).toEqual(['anonymous', 'officer']);
    // The attempted username of an unknown account is not kept: people type passwords into that box.
    expect(JSON.stringify(denied)).not.toContain('nobody');
  });

  it('validates the sign-in body field by field', async () => {
    const response = await request(gateway.app).post('/v1/officers/session').send({ username: 42, extra: true });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        { path: 'username', message: expect.stringMatching(/string/) },
        { path: 'password', message: expect.stringMatching(/string/) },
        { path: '', message: expect.stringMatching(/extra/) },
      ]),
    );
  });

  it('enforces roles on officer routes', async () => {
    const auditor = await createTestOfficer(gateway, 'auditor');
    const token = await officerToken(gateway, auditor.username, auditor.password);
    expect((await request(gateway.app).get('/v1/policy').set('Authorization', `Bearer ${token}`)).status).toBe(200);
  });

  it('rejects weak passwords, bad usernames and duplicates when creating officers', async () => {
    const ctx = systemContext(gateway);
    await expect(gateway.runtime.auth.createOfficer(ctx, { username: 'x', role: 'admin', password: 'short' })).rejects.toMatchObject({
      errors: [
        { path: 'username', message: expect.any(String) },
        { path: 'password', message: 'must be at least 12 characters' },
      ],
    });
    await createTestOfficer(gateway, 'admin', 'carol');
    await expect(createTestOfficer(gateway, 'admin', 'carol')).rejects.toMatchObject({ status: 409 });
  });
});

describe('officer sign-out', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  it('ends the session on this replica at once and on every other within the recheck bound, audited', async () => {
    // A second replica on the same database, with its own caches.
    const replica = await createRuntime(loadConfig({ ...gateway.env, AUDIT_INTEGRATOR: 'false' }), createLogger('error'));
    try {
      const other = createApp(replica);
      const officer = await createTestOfficer(gateway, 'auditor');
      const token = await officerToken(gateway, officer.username, officer.password);
      const stats = (app: typeof other) => request(app).get('/v1/audit/stats').set('Authorization', `Bearer ${token}`);
      expect((await stats(gateway.app)).status).toBe(200);
      expect((await stats(other)).status).toBe(200);

      expect((await request(gateway.app).delete('/v1/officers/session').set('Authorization', `Bearer ${token}`)).status).toBe(204);
      const here = await stats(gateway.app);
      expect({ status: here.status, detail: here.body.detail }).toEqual({ status: 401, detail: 'this session has ended (signed out); sign in again' });
      // The other replica read "not ended" a moment ago and may keep that for ACCOUNT_RECHECK_MS; past it, it refuses too.
      expect((await whenClockIsLater(ACCOUNT_RECHECK_MS + 1, () => stats(other))).status).toBe(401);
      // Signing out again, or with no session, is a 401 like any other use of the token.
      expect((await request(gateway.app).delete('/v1/officers/session').set('Authorization', `Bearer ${token}`)).status).toBe(401);
      expect((await auditEvents(gateway, 'auth.officer.sign-out')).map((e) => e.actor)).toEqual([{ type: 'officer', id: officer.id }]);
      // A new sign-in is a new session.
      const again = await officerToken(gateway, officer.username, officer.password);
      expect((await request(gateway.app).get('/v1/audit/stats').set('Authorization', `Bearer ${again}`)).status).toBe(200);
    } finally {
      await replica.close();
    }
  });
});
