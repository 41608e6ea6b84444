import request from 'supertest';
import { createTestOfficer, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startProcess, type ChildProcess } from '../support/processes.ts';
import path from 'node:path';

/** Officers from the organisation's OpenID Connect provider: a real provider, in its own process. */
describe('officer tokens from an OpenID Connect provider', () => {
  let provider: ChildProcess;
  let issuer: string;
  let gateway: TestGateway;

  beforeAll(async () => {
    const started = await startProcess([path.join(__dirname, '..', 'support', 'oidc-provider.mjs')], { ready: /READY (\S+)/ });
    provider = started;
    issuer = started.match[1]!;
    gateway = await startTestGateway({ OIDC_ISSUER: issuer, OIDC_AUDIENCE: 'custos-console' });
  });
  afterAll(async () => {
    await gateway?.close();
    await provider?.stop();
  });

  async function providerToken(client: string, resource = 'urn:custos'): Promise<string> {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client, client_secret: `${client}-secret`, resource, scope: 'console' }),
    });
    const body = (await response.json()) as { access_token?: string };
    if (!body.access_token) throw new Error(`provider refused: ${JSON.stringify(body)}`);
    return body.access_token;
  }

  const me = (token: string) => request(gateway.app).get('/v1/officers/me').set('Authorization', `Bearer ${token}`);

  it('accepts a provider token, verified against its JWKS, with the role from the configured claim', async () => {
    const token = await providerToken('console-auditor');
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg).toBe('ES256');
    const response = await me(token);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: 'oidc:console-auditor', username: 'console-auditor', role: 'auditor', via: 'oidc' });
    expect((await request(gateway.app).get('/v1/policy').set('Authorization', `Bearer ${token}`)).status).toBe(200);
  });

  it('refuses a provider token minted for another audience', async () => {
    const response = await me(await providerToken('console-admin', 'urn:other'));
    expect(response.status).toBe(401);
    expect(response.body.detail).toMatch(/"aud"/);
  });

  it('refuses a provider token that carries no Custos role', async () => {
    const response = await me(await providerToken('console-norole'));
    expect(response.status).toBe(403);
    expect(response.body.detail).toMatch(/custos_role/);
  });

  it('refuses a token whose signature was tampered with', async () => {
    const [header, payload] = (await providerToken('console-admin')).split('.');
    const response = await me(`${header}.${payload}.${Buffer.alloc(64).toString('base64url')}`);
    expect(response.status).toBe(401);
  });

  it('still accepts password sessions alongside OIDC', async () => {
    const officer = await createTestOfficer(gateway, 'privacy-agent');
    const response = await me(await officerToken(gateway, officer.username, officer.password));
    expect(response.body).toMatchObject({ id: officer.id, role: 'privacy-agent', via: 'password' });
  });
});
