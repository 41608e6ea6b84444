import path from 'node:path';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { appInBrowser, freePort, withBrowser } from '../support/browser.ts';
import { auditEvents, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startProcess, type ChildProcess } from '../support/processes.ts';

/**
 * Console sign-in at the organisation's OpenID Connect provider, in a browser:
 * a real oidc-provider with its own login and consent pages, the authorization
 * code flow with PKCE, Custos redeeming the code and verifying the token.
 */
withBrowser('console sign-in with an OpenID Connect provider', () => {
  let provider: ChildProcess;
  let gateway: TestGateway;
  let pages: Awaited<ReturnType<typeof appInBrowser>> | undefined;
  let origin: string;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    provider = await startProcess([path.join(__dirname, '..', 'support', 'oidc-provider.mjs')], { ready: /READY (\S+)/, env: { OIDC_TEST_REDIRECT_URI: `${origin}/console` } });
    const issuer = (provider as ChildProcess & { match: RegExpMatchArray }).match[1]!;
    gateway = await startTestGateway({
      CUSTOS_PUBLIC_URL: origin,
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: 'custos-console',
      OIDC_CLIENT_ID: 'custos-console',
      OIDC_RESOURCE: 'urn:custos',
      OIDC_SCOPE: 'openid profile console',
    });
    pages = await appInBrowser(gateway.app, '127.0.0.1', port);
  }, 60_000);
  afterAll(async () => {
    await pages?.close();
    await gateway?.close();
    await provider?.stop();
  });

  /** Through the provider's own pages: any login name, any password, then its consent screen. */
  async function signInAtProvider(page: Page, login: string): Promise<void> {
    await page.goto(`${origin}/console`);
    await page.click('#oidc-sign-in');
    await page.waitForSelector('input[name=login]');
    expect(new URL(page.url()).origin).not.toBe(origin);
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', 'anything');
    await page.click('button[type=submit]');
    await page.waitForSelector('button:has-text("Continue")');
    await page.click('button:has-text("Continue")');
  }

  it('signs an auditor in with the authorization code flow and PKCE, and audits the sign-in', async () => {
    const page = await pages!.browser.newPage();
    const sent: URL[] = [];
    page.on('request', (r) => r.url().includes('/auth?') && sent.push(new URL(r.url())));
    await signInAtProvider(page, 'oidc-auditor');
    await page.waitForSelector('#nav:not([hidden])');
    expect(await page.textContent('#who')).toBe('oidc-auditor (auditor)');
    expect(await page.isVisible('nav [data-view=requests]')).toBe(false);
    // The authorization request carried an S256 challenge and a state, never a secret.
    expect(sent[0]!.searchParams.get('code_challenge_method')).toBe('S256');
    expect(sent[0]!.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sent[0]!.searchParams.get('state')).toBeTruthy();
    expect(page.url()).toBe(`${origin}/console`);
    const signIns = await auditEvents(gateway, 'auth.officer.sign-in');
    expect(signIns.at(-1)).toMatchObject({ decision: 'allow', actor: { type: 'officer', id: 'oidc:oidc-auditor' }, reasons: [{ code: 'oidc' }] });
    // The session works against the API like any officer token.
    const token = (await page.evaluate('sessionStorage.getItem("custos.console.token")')) as string;
    expect((await request(gateway.app).get('/v1/audit/tree-head')).status).toBe(200);
    expect((await request(gateway.app).get('/v1/officers/me').set('Authorization', `Bearer ${token}`)).body).toMatchObject({ via: 'oidc', role: 'auditor' });
  }, 60_000);

  it('keeps what an officer typed across the provider round trip after the session ends', async () => {
    const page = await pages!.browser.newPage();
    await signInAtProvider(page, 'oidc-admin');
    await page.waitForSelector('#nav:not([hidden])');
    await page.click('nav [data-view=audit]');
    await page.fill('#audit-form input[name=purpose]', 'marketing');
    // The session ends (here: its token is spoiled); the next call returns the officer to sign-in.
    await page.evaluate('sessionStorage.setItem("custos.console.token", "eyJhbGciOiJub25lIn0.e30.x")');
    await page.click('#audit-form button[type=submit]');
    await page.waitForSelector('#sign-in:not([hidden])');
    expect(await page.textContent('#problem')).toMatch(/session has ended/);
    // The provider still knows this browser (single sign-on), so it sends the officer straight back.
    await page.click('#oidc-sign-in');
    await page.waitForSelector('#audit:not([hidden])');
    expect(await page.textContent('#who')).toBe('oidc-admin (admin)');
    expect(await page.inputValue('#audit-form input[name=purpose]')).toBe('marketing');
  }, 60_000);

  it('refuses an account the provider gives no Custos role, and a replayed or forged answer', async () => {
    const page = await pages!.browser.newPage();
    await signInAtProvider(page, 'someone-else');
    await page.waitForSelector('#problem:has-text("no Custos role")');
    expect(await page.isVisible('#nav')).toBe(false);
    // An answer this tab did not ask for (a state it never sent) is not redeemed.
    await page.goto(`${origin}/console?code=stolen&state=not-mine`);
    await page.waitForSelector('#problem:has-text("does not belong to this browser tab")');
    const refused = await request(gateway.app)
      .post('/v1/officers/oidc/session')
      .send({ code: 'stolen', codeVerifier: 'x'.repeat(43), redirectUri: `${origin}/console` });
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toMatch(/invalid_grant/);
    // A code sent back for another address than the console's is refused before the provider is asked.
    const elsewhere = await request(gateway.app)
      .post('/v1/officers/oidc/session')
      .send({ code: 'stolen', codeVerifier: 'x'.repeat(43), redirectUri: 'https://attacker.example/console' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.errors).toEqual([{ path: 'redirectUri', message: `must be the console's address, ${origin}/console (CUSTOS_PUBLIC_URL + /console)` }]);
    expect((await auditEvents(gateway, 'auth.officer.sign-in')).filter((e) => e.decision === 'deny').map((e) => e.reasons[0]!.code)).toEqual(expect.arrayContaining(['no-role', 'provider-refused']));
  }, 60_000);
});
