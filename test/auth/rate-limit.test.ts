import request from 'supertest';
import { auditEvents, createTestApp, startTestGateway, type TestGateway } from '../support/gateway.ts';

describe('brute-force bursts on credential endpoints', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ TOKEN_RATE_LIMIT_PER_MINUTE: '5', SIGN_IN_RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: 'true' });
  });
  afterAll(() => gateway.close());

  it('turns away guesses at one client with 429 and Retry-After, before any argon2 work', async () => {
    const target = await createTestApp(gateway, ['support']);
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 9; i++) {
      const response = await request(gateway.app)
        .post('/oauth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: target.clientId, client_secret: `guess-${i}` });
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers['retry-after'];
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.body.type).toBe('urn:custos:problem:too-many-requests');
      }
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // A refusal is audited only after the secret was checked; a 429 never reaches argon2, so it leaves no refusal.
    const refusals = (await auditEvents(gateway, 'auth.token.refuse')).filter((e) => e.actor.id === target.clientId);
    expect(refusals).toHaveLength(5);

    // The guesser's address stays held back, even with the right secret ...
    const guesser = await request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: target.clientId, client_secret: target.clientSecret });
    expect(guesser.status).toBe(429);
  });

  it('does not let a stranger lock an app out: the app, from its own address, still gets its token', async () => {
    const target = await createTestApp(gateway, ['support']);
    const from = (ip: string, secret: string) =>
      request(gateway.app).post('/oauth/token').set('X-Forwarded-For', ip).type('form').send({ grant_type: 'client_credentials', client_id: target.clientId, client_secret: secret });
    const stranger = [];
    for (let i = 0; i < 30; i++) stranger.push((await from('203.0.113.7', `guess-${i}`)).status);
    expect(stranger.filter((s) => s === 429).length).toBeGreaterThan(20);
    expect((await from('198.51.100.20', target.clientSecret)).status).toBe(200);
  });

  it('limits sign-in guesses per username', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (
          await request(gateway.app)
            .post('/v1/officers/session')
            .send({ username: 'someone', password: `guess-${i}` })
        ).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('limits one address spraying many accounts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const response = await request(gateway.app)
        .post('/oauth/token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: `app_${String(i).padStart(20, 'x')}`, client_secret: 'x' });
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });
});
