import request from 'supertest';
import { appToken, createTestApp, createTestOfficer, startTestGateway, type TestGateway } from '../support/gateway.ts';

/** Values that must never reach a log line, whatever route they travel through. */
const CANARIES = {
  phone: '+8613800138000',
  email: 'canary.person@example.org',
  name: 'Canary Zhang Wei',
  secret: 'cs_canarysecretvalue0000000000000000000000',
  password: 'canary-password-1234',
  username: 'canary-username',
};

describe('logs hold no personal data', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ BODY_LIMIT: '4kb' });
  });
  afterAll(() => gateway.close());

  it('sends canary values through every route and finds none of them in the logs', async () => {
    const app = await createTestApp(gateway, ['support']);
    const token = await appToken(gateway, app);
    const officer = await createTestOfficer(gateway, 'auditor');
    const auth = { Authorization: `Bearer ${token}` };
    const s = request(gateway.app);
    await s.post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: CANARIES.secret });
    await s.post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: CANARIES.email, client_secret: CANARIES.password, scope: CANARIES.name });
    await s.post('/oauth/token').auth(CANARIES.username, CANARIES.password).type('form').send({ grant_type: 'client_credentials' });
    await s.post('/v1/officers/session').send({ username: CANARIES.username, password: CANARIES.password });
    await s.post('/v1/officers/session').send({ username: officer.username, password: CANARIES.password });
    await s.post('/v1/officers/session').send({ username: CANARIES.email, password: CANARIES.phone, extra: CANARIES.name });
    await s.post('/v1/officers/session').set('Content-Type', 'application/json').send(`{"username":"${CANARIES.email}",`);
    await s
      .post('/v1/officers/session')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ username: CANARIES.name, password: CANARIES.phone.repeat(400) }));
    await s.get(`/v1/purposes?phone=${encodeURIComponent(CANARIES.phone)}&email=${encodeURIComponent(CANARIES.email)}`).set(auth);
    await s.get(`/v1/subjects/${encodeURIComponent(CANARIES.email)}`).set(auth);
    await s.get(`/v1/subjects/lookup?phone=${encodeURIComponent(CANARIES.phone)}`).set(auth);
    await s.get('/v1/purposes').set('Authorization', `Bearer ${CANARIES.secret}`);
    await s.get('/v1/policy').set('Authorization', `Bearer ${token}`);
    await s.get(`/docs/assets/${encodeURIComponent(CANARIES.name)}`);
    // The subject vault: writes, refusals, invalid identifiers, conflicts, lookups and reads.
    const written = await s
      .post('/v1/subjects')
      .set(auth)
      .send({ purpose: 'support', identifiers: { phone: CANARIES.phone, email: CANARIES.email }, attributes: { name: CANARIES.name } });
    expect(written.status).toBe(201);
    await s
      .post('/v1/subjects')
      .set(auth)
      .send({ purpose: 'support', identifiers: { phone: CANARIES.phone }, attributes: { birthday: CANARIES.name } });
    await s
      .post('/v1/subjects')
      .set(auth)
      .send({ purpose: 'support', identifiers: { phone: `${CANARIES.phone}abc`, email: `${CANARIES.email}\u0430` } });
    await s
      .post('/v1/subjects')
      .set(auth)
      .send({ purpose: 'support', identifiers: { email: 'second.canary@example.org' } });
    await s
      .post('/v1/subjects')
      .set(auth)
      .send({ purpose: 'support', identifiers: { phone: CANARIES.phone, email: 'second.canary@example.org' } });
    await s
      .patch(`/v1/subjects/${written.body.ref}`)
      .set(auth)
      .send({ purpose: 'support', attributes: { name: `${CANARIES.name} II` } });
    await s.get(`/v1/subjects/lookup?purpose=support&phone=${encodeURIComponent(CANARIES.phone)}`).set(auth);
    await s.get(`/v1/subjects/lookup?purpose=support&email=${encodeURIComponent(CANARIES.email)}`).set(auth);
    await s.get(`/v1/subjects/${written.body.ref}?purpose=support`).set(auth);
    // The consent ledger: a grant, a refusal, a withdrawal and the listing.
    await s.put(`/v1/subjects/${written.body.ref}/consents/support`).set(auth).send({ source: CANARIES.name, noticeVersion: CANARIES.email });
    await s
      .delete(`/v1/subjects/${written.body.ref}/consents/support`)
      .set(auth)
      .send({ topics: [CANARIES.phone] });
    await s.get(`/v1/subjects/${written.body.ref}/consents`).set(auth);
    // The audit log: officers' searches by raw identifier and export, and the public log routes with junk.
    const session = await s.post('/v1/officers/session').send({ username: officer.username, password: officer.password });
    const officerAuth = { Authorization: `Bearer ${session.body.access_token}` };
    await s.get(`/v1/audit/events?subject=${encodeURIComponent(CANARIES.phone)}`).set(officerAuth);
    await s.get(`/v1/audit/events?subject=${encodeURIComponent(CANARIES.email)}&format=csv`).set(officerAuth);
    await s.get(`/v1/audit/events?officer=${encodeURIComponent(CANARIES.username)}&reason=${encodeURIComponent(CANARIES.name)}`).set(officerAuth);
    await s.get(`/v1/audit/events?cursor=${encodeURIComponent(CANARIES.secret)}`).set(officerAuth);
    await s.get(`/v1/audit/stats?from=${encodeURIComponent(CANARIES.name)}`).set(officerAuth);
    await s.get(`/v1/audit/proofs/inclusion?index=${encodeURIComponent(CANARIES.phone)}&treeSize=1`);
    await s.get(`/v1/audit/tree-heads?from=${encodeURIComponent(CANARIES.email)}`);
    await s.get('/v1/audit/checkpoint');
    // Customer privacy requests: submissions, codes, status and export, canaries everywhere.
    const asked = await s.post('/v1/privacy-requests').send({ type: 'correction', identifier: { phone: CANARIES.phone }, correction: { name: CANARIES.name, email: CANARIES.email } });
    expect(asked.status).toBe(202);
    await s.post('/v1/privacy-requests').send({ type: 'opt-out', identifier: { email: CANARIES.email }, scope: { topics: [CANARIES.name] } });
    await s.post('/v1/privacy-requests').send({ type: CANARIES.name, identifier: { phone: CANARIES.phone } });
    await s.post('/v1/privacy-requests').send({ type: 'correction', identifier: { phone: CANARIES.phone }, correction: { [CANARIES.username]: CANARIES.name } });
    await s.post(`/v1/privacy-requests/${asked.body.id}/verify`).send({ code: '000000' });
    await s.post(`/v1/privacy-requests/${encodeURIComponent(CANARIES.email)}/verify`).send({ code: CANARIES.phone });
    await s.get(`/v1/privacy-requests/${asked.body.id}`).set('Authorization', `Bearer ${asked.body.statusToken}`);
    await s.get(`/v1/privacy-requests/${asked.body.id}/export`).set('Authorization', `Bearer ${asked.body.statusToken}`);

    const text = gateway.logs.join('\n');
    expect(gateway.logs.length).toBeGreaterThan(22);
    for (const [kind, value] of Object.entries(CANARIES)) {
      expect({ kind, found: text.includes(value) || text.includes(encodeURIComponent(value)) }).toEqual({ kind, found: false });
    }
  });

  it('writes one JSON line per request with request id, client id, route, status and latency', async () => {
    const app = await createTestApp(gateway, ['support']);
    const token = await appToken(gateway, app);
    const before = gateway.logs.length;
    await request(gateway.app).get('/v1/purposes').set('Authorization', `Bearer ${token}`).set('X-Request-Id', 'req-log-1');
    const lines = gateway.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.requestId === 'req-log-1');
    expect(line).toMatchObject({ message: 'request', method: 'GET', route: '/v1/purposes', status: 200, clientId: app.clientId, latencyMs: expect.any(Number), level: 'info' });
    expect(lines.filter((l) => l.requestId === 'req-log-1')).toHaveLength(1);
  });
});
