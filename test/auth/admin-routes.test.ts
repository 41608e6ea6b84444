import request from 'supertest';
import { ACCOUNT_RECHECK_MS } from '../../src/modules/auth/service.ts';
import { auditEvents, createTestOfficer, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

/** Apps and officers over HTTP (role admin): the same services and audit events as the CLI. */
describe('admin routes', () => {
  let gateway: TestGateway;
  let admin: string;
  let adminId: string;
  let auditor: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    const a = await createTestOfficer(gateway, 'admin');
    adminId = a.id;
    admin = await officerToken(gateway, a.username, a.password);
    const b = await createTestOfficer(gateway, 'auditor');
    auditor = await officerToken(gateway, b.username, b.password);
  });
  afterAll(() => gateway.close());

  const as = (token: string) => ({
    get: (path: string) => request(gateway.app).get(path).set('Authorization', `Bearer ${token}`),
    post: (path: string, body: object) => request(gateway.app).post(path).set('Authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => request(gateway.app).delete(path).set('Authorization', `Bearer ${token}`),
  });

  it('creates an app whose secret is shown once and works at /oauth/token, lists it without the secret, and removes it', async () => {
    const created = await as(admin)
      .post('/v1/admin/apps', { name: 'Dialer', purposes: ['marketing'], reveal: ['call'] })
      .expect(201);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.body).toEqual({ clientId: expect.stringMatching(/^app_/), clientSecret: expect.stringMatching(/^cs_/), name: 'Dialer', purposes: ['marketing'], reveal: ['call'] });
    const token = await request(gateway.app)
      .post('/oauth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: created.body.clientId, client_secret: created.body.clientSecret })
      .expect(200);

    const listed = await as(admin).get('/v1/admin/apps').expect(200);
    const mine = listed.body.apps.find((a: { clientId: string }) => a.clientId === created.body.clientId);
    expect(mine).toEqual({ clientId: created.body.clientId, name: 'Dialer', purposes: ['marketing'], reveal: ['call'], createdAt: expect.any(String), removedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.clientSecret);

    const purposes = () => request(gateway.app).get('/v1/purposes').set('Authorization', `Bearer ${token.body.access_token}`);
    expect((await purposes()).status).toBe(200);
    await as(admin).delete(`/v1/admin/apps/${created.body.clientId}`).expect(204);
    expect((await purposes()).status).toBe(401);
    const again = await as(admin).delete(`/v1/admin/apps/${created.body.clientId}`);
    expect(again.status).toBe(404);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await auditEvents(gateway, 'auth.app.remove')).map((e) => e.actor.id)).toContain(adminId);
  });

  it('names the field of a bad app: an unknown purpose, a missing name', async () => {
    const unknown = await as(admin)
      .post('/v1/admin/apps', { name: 'X', purposes: ['astrology'] })
      .expect(400);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: 'purposes', message: expect.stringContaining('astrology') })]);
    const nameless = await as(admin)
      .post('/v1/admin/apps', { purposes: ['marketing'] })
      .expect(400);
    expect(nameless.body.errors.map((e: { path: string }) => e.path)).toEqual(['name']);
  });

  it('creates an officer with a generated password that signs in, and removes them: their session ends', async () => {
    const created = await as(admin).post('/v1/admin/officers', { username: 'new-agent', role: 'privacy-agent' }).expect(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^off_/), username: 'new-agent', role: 'privacy-agent', password: expect.any(String) });
    const session = await officerToken(gateway, 'new-agent', created.body.password);
    const listed = await as(admin).get('/v1/admin/officers').expect(200);
    expect(listed.body.officers).toContainEqual({ id: created.body.id, username: 'new-agent', role: 'privacy-agent', createdAt: expect.any(String), removedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain('password');

    await as(admin).delete(`/v1/admin/officers/${created.body.id}`).expect(204);
    await new Promise((resolve) => setTimeout(resolve, ACCOUNT_RECHECK_MS + 50));
    expect((await as(session).get('/v1/officers/me')).status).toBe(401);
    expect((await request(gateway.app).post('/v1/officers/session').send({ username: 'new-agent', password: created.body.password })).status).toBe(401);
    expect((await auditEvents(gateway, 'auth.officer.remove')).map((e) => e.reasons[0]?.detail)).toContain(created.body.id);
  });

  it('keeps a chosen password out of the answer, refuses a taken username and a short password, and an admin removing themselves', async () => {
    const chosen = await as(admin).post('/v1/admin/officers', { username: 'chosen', role: 'auditor', password: 'a long enough password' }).expect(201);
    expect(chosen.body.password).toBeUndefined();
    expect((await as(admin).post('/v1/admin/officers', { username: 'chosen', role: 'auditor' })).status).toBe(409);
    const short = await as(admin).post('/v1/admin/officers', { username: 'shorty', role: 'auditor', password: 'short' }).expect(400);
    expect(short.body.errors.map((e: { path: string }) => e.path)).toEqual(['password']);
    const self = await as(admin).delete(`/v1/admin/officers/${adminId}`).expect(409);
    expect(self.body.detail).toMatch(/your own account/);
  });

  it('refuses every admin route to an auditor', async () => {
    for (const call of [
      as(auditor).get('/v1/admin/apps'),
      as(auditor).post('/v1/admin/apps', { name: 'X', purposes: ['marketing'] }),
      as(auditor).get('/v1/admin/officers'),
      as(auditor).post('/v1/admin/officers', { username: 'sneaky', role: 'admin' }),
      as(auditor).delete(`/v1/admin/officers/${adminId}`),
    ]) {
      expect((await call).status).toBe(403);
    }
    expect((await as(admin).get('/v1/admin/officers')).body.officers.map((o: { username: string }) => o.username)).not.toContain('sneaky');
  });
});
