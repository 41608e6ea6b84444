import { randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import request from 'supertest';
import { appToken, createTestApp, createTestOfficer, officerToken, startTestGateway, systemContext, type AppCredentials, type TestGateway } from '../support/gateway.ts';

/** Every /v1 route verifies signature, alg, iss, aud, exp/nbf and that the app still exists. */
describe('bearer tokens on /v1 routes', () => {
  let gateway: TestGateway;
  let crm: AppCredentials;

  beforeAll(async () => {
    gateway = await startTestGateway();
    crm = await createTestApp(gateway, ['support']);
  });
  afterAll(() => gateway.close());

  const callWith = (token: string) => request(gateway.app).get('/v1/purposes').set('Authorization', `Bearer ${token}`);

  /** A token shaped exactly like Custos's, signed with Custos's own key, with one thing changed. */
  function forge(changes: { iss?: string; aud?: string; exp?: number; nbf?: number; typ?: string; sub?: string } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const key = gateway.runtime.signingKey;
    return new SignJWT({ scope: 'support', client_id: changes.sub ?? crm.clientId })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: changes.typ ?? 'at+jwt' })
      .setIssuer(changes.iss ?? 'http://custos.test')
      .setAudience(changes.aud ?? 'custos-api')
      .setSubject(changes.sub ?? crm.clientId)
      .setIssuedAt(now - 60)
      .setNotBefore(changes.nbf ?? now - 60)
      .setExpirationTime(changes.exp ?? now + 600)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  function expectUnauthenticated(response: request.Response, detail: RegExp, challenge = /^Bearer realm="custos", error="invalid_(token|request)"$/) {
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['www-authenticate']).toMatch(challenge);
    expect(response.body).toMatchObject({ type: 'urn:custos:problem:unauthenticated', status: 401 });
    expect(response.body.detail).toMatch(detail);
  }

  it('accepts a token it issued', async () => {
    const response = await callWith(await appToken(gateway, crm));
    expect(response.status).toBe(200);
    expect(response.body.purposes.map((p: { name: string }) => p.name)).toEqual(['support']);
  });

  it('accepts a forged-shape token only when every claim is right (control for the cases below)', async () => {
    expect((await callWith(await forge())).status).toBe(200);
  });

  it('refuses a request without a token', async () => {
    // RFC 6750 section 3.1: no credentials, no error code in the challenge.
    expectUnauthenticated(await request(gateway.app).get('/v1/purposes'), /Authorization: Bearer/, /^Bearer realm="custos"$/);
  });

  it('refuses alg "none"', async () => {
    const unsigned = new UnsecuredJWT({ scope: 'support' }).setIssuer('http://custos.test').setAudience('custos-api').setSubject(crm.clientId).setIssuedAt().setExpirationTime('10m').encode();
    expectUnauthenticated(await callWith(unsigned), /malformed|algorithm/);
  });

  it('refuses HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const publicJwk = JSON.stringify(gateway.runtime.signingKey.publicJwk);
    const forged = await new SignJWT({ scope: 'support' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer('http://custos.test')
      .setAudience('custos-api')
      .setSubject(crm.clientId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .setJti(randomUUID())
      .sign(new TextEncoder().encode(publicJwk));
    expectUnauthenticated(await callWith(forged), /accepted algorithm/);
  });

  it('refuses a token signed by another Ed25519 key', async () => {
    const { privateKey } = await generateKeyPair('EdDSA');
    const stranger = await new SignJWT({ scope: 'support' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: gateway.runtime.signingKey.kid })
      .setIssuer('http://custos.test')
      .setAudience('custos-api')
      .setSubject(crm.clientId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .setJti(randomUUID())
      .sign(privateKey);
    expectUnauthenticated(await callWith(stranger), /signature/);
  });

  it('refuses a token whose payload was edited after signing', async () => {
    const [header, , signature] = (await appToken(gateway, crm)).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: crm.clientId, scope: 'support marketing', iss: 'http://custos.test', aud: 'custos-api', exp: 9999999999 })).toString('base64url');
    expectUnauthenticated(await callWith(`${header}.${payload}.${signature}`), /signature/);
  });

  it('refuses an expired token', async () => {
    expectUnauthenticated(await callWith(await forge({ exp: Math.floor(Date.now() / 1000) - 60 })), /expired/);
  });

  it('refuses a token that is not valid yet', async () => {
    expectUnauthenticated(await callWith(await forge({ nbf: Math.floor(Date.now() / 1000) + 600 })), /"nbf"/);
  });

  it('refuses a token for another audience', async () => {
    expectUnauthenticated(await callWith(await forge({ aud: 'some-other-api' })), /"aud"/);
  });

  it('refuses a token from another issuer', async () => {
    expectUnauthenticated(await callWith(await forge({ iss: 'https://evil.example' })), /"iss"/);
  });

  it('refuses a token that is not an access token (typ)', async () => {
    expectUnauthenticated(await callWith(await forge({ typ: 'JWT' })), /"typ"/);
  });

  it('refuses a still-valid token of an app that has since been removed', async () => {
    const temp = await createTestApp(gateway, ['support']);
    const token = await appToken(gateway, temp);
    expect((await callWith(token)).status).toBe(200);
    await gateway.runtime.auth.removeApp(systemContext(gateway), temp.clientId);
    expectUnauthenticated(await callWith(token), /removed/);
  });

  it('refuses garbage in the Authorization header', async () => {
    expectUnauthenticated(await callWith('not.a.jwt'), /malformed/);
    expectUnauthenticated(await request(gateway.app).get('/v1/purposes').set('Authorization', 'Basic abc'), /Bearer/);
  });

  it('keeps app and officer tokens apart', async () => {
    const officer = await createTestOfficer(gateway, 'auditor');
    const officerBearer = await officerToken(gateway, officer.username, officer.password);
    expect((await callWith(officerBearer)).status).toBe(401);
    const appOnOfficerRoute = await request(gateway.app)
      .get('/v1/policy')
      .set('Authorization', `Bearer ${await appToken(gateway, crm)}`);
    expect(appOnOfficerRoute.status).toBe(403);
    expect(appOnOfficerRoute.body.type).toBe('urn:custos:problem:forbidden');
  });
});
