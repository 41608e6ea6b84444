import os from 'node:os';
import { appInBrowser, withBrowser } from '../support/browser.ts';
import type { Browser } from 'playwright-core';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** An address of this machine that is not loopback: what a colleague's browser would use. */
function outwardAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

withBrowser('/docs in a real browser', () => {
  let gateway: TestGateway;
  let pages: Awaited<ReturnType<typeof appInBrowser>> | undefined;
  let browser: Browser;
  beforeAll(async () => {
    gateway = await startTestGateway();
    pages = await appInBrowser(gateway.app, '0.0.0.0');
    browser = pages.browser;
  }, 60_000);
  afterAll(async () => {
    await pages?.close();
    await gateway.close();
  });

  it('renders the API documentation over plain HTTP from a non-loopback address, every asset served by Custos under its CSP', async () => {
    const address = outwardAddress();
    expect(address).toBeDefined();
    const origin = `http://${address}:${pages!.port}`;
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('requestfailed', (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('response', (answer) => {
      if (answer.status() >= 400) problems.push(`${answer.url()}: HTTP ${answer.status()}`);
    });
    const response = await page.goto(`${origin}/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).not.toContain('upgrade-insecure-requests');
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 20_000 });
    expect(await page.textContent('.swagger-ui .info .title')).toContain('Custos');
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(30);
    // Nothing from a CDN, nothing blocked, nothing upgraded to https.
    expect(requested.every((url) => url.startsWith(origin))).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);
});
