import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { appToken, auditEvents, createTestApp, startTestGateway, systemContext, type AppCredentials, type TestGateway } from '../support/gateway.ts';

describe('OAuth 2.0 client credentials at POST /oauth/token', () => {
  let gateway: TestGateway;
  let dialer: AppCredentials;

  beforeAll(async () => {
    gateway = await startTestGateway();
    dialer = await createTestApp(gateway, ['marketing', 'support']);
  });
  afterAll(() => gateway.close());

  const token = (form: Record<string, string>) => request(gateway.app).post('/oauth/token').type('form').send(form);

  it('issues a short-lived EdDSA JWT that anyone can verify with the published JWKS', async () => {
    const response = await token({ grant_type: 'client_credentials', client_id: dialer.clientId, client_secret: dialer.clientSecret });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'marketing support' });

    const jwks = await request(gateway.app).get('/.well-known/jwks.json');
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(response.body.access_token, createLocalJWKSet(jwks.body), { issuer: 'http://custos.test', audience: 'custos-api' });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: jwks.body.keys[0].kid });
    expect(payload.sub).toBe(dialer.clientId);
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('accepts client_secret_basic as well as client_secret_post', async () => {
    const response = await request(gateway.app)
      .post('/oauth/token')
      .auth(encodeURIComponent(dialer.clientId), encodeURIComponent(dialer.clientSecret))
      .type('form')
      .send({ grant_type: 'client_credentials', scope: 'support' });
    expect(response.status).toBe(200);
    expect(response.body.scope).toBe('support');
  });

  it('narrows the token to the purposes asked for, and refuses a purpose the app was not granted', async () => {
    const narrowed = await appToken(gateway, dialer, 'support');
    expect(JSON.parse(Buffer.from(narrowed.split('.')[1]!, 'base64url').toString()).scope).toBe('support');

    const crm = await createTestApp(gateway, ['support']);
    const response = await token({ grant_type: 'client_credentials', client_id: crm.clientId, client_secret: crm.clientSecret, scope: 'support marketing' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_scope', error_description: 'not granted to this client: marketing' });
  });

  it.each([
    ['a wrong secret', () => ({ grant_type: 'client_credentials', client_id: dialer.clientId, client_secret: 'cs_wrong' }), 401, 'invalid_client'],
    ['an unknown client', () => ({ grant_type: 'client_credentials', client_id: 'app_aaaaaaaaaaaaaaaaaaaa', client_secret: 'cs_x' }), 401, 'invalid_client'],
    ['a malformed client id', () => ({ grant_type: 'client_credentials', client_id: "'; drop table app; --", client_secret: 'x' }), 401, 'invalid_client'],
    ['a missing secret', () => ({ grant_type: 'client_credentials', client_id: dialer.clientId }), 401, 'invalid_client'],
    ['a missing grant_type', () => ({ client_id: dialer.clientId, client_secret: dialer.clientSecret }), 400, 'invalid_request'],
    ['an unsupported grant', () => ({ grant_type: 'password', client_id: dialer.clientId, client_secret: dialer.clientSecret }), 400, 'unsupported_grant_type'],
  ])('answers %s with the RFC 6749 error', async (_name, form, status, error) => {
    const response = await token(form() as Record<string, string>);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body.error).toBe(error);
    expect(response.body).not.toHaveProperty('access_token');
  });

  it('refuses a JSON body with invalid_request rather than guessing', async () => {
    const response = await request(gateway.app).post('/oauth/token').send({ grant_type: 'client_credentials', client_id: dialer.clientId, client_secret: dialer.clientSecret });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });

  it('refuses tokens to a removed app', async () => {
    const gone = await createTestApp(gateway, ['support']);
    expect(await gateway.runtime.auth.removeApp(systemContext(gateway), gone.clientId)).toBe(true);
    const response = await token({ grant_type: 'client_credentials', client_id: gone.clientId, client_secret: gone.clientSecret });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
  });

  it('stores secrets only as argon2id hashes', async () => {
    const rows = await gateway.runtime.db.read.app.findMany();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.secretHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(JSON.stringify(rows)).not.toContain(dialer.clientSecret);
  });

  it('audits every issued and refused token, never the secret', async () => {
    const issued = await auditEvents(gateway, 'auth.token.issue');
    const refused = await auditEvents(gateway, 'auth.token.refuse');
    expect(issued.length).toBeGreaterThanOrEqual(3);
    expect(issued.every((e) => e.decision === 'allow' && e.actor.type === 'app')).toBe(true);
    expect(refused.map((e) => e.reasons[0]!.code)).toEqual(expect.arrayContaining(['invalid_client', 'invalid_request', 'unsupported_grant_type', 'invalid_scope']));
    expect(JSON.stringify([...issued, ...refused])).not.toContain(dialer.clientSecret);
  });
});
