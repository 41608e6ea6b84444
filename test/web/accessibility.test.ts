import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { appInBrowser, withBrowser } from '../support/browser.ts';
import { appToken, createTestApp, createTestOfficer, officerToken, REPO_ROOT, startTestGateway, type TestGateway } from '../support/gateway.ts';

const AXE = require.resolve('axe-core/axe.min.js');
const SCREENSHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
/** The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1 (otherwise they are taken and checked, not written). */
const writeScreenshots = process.env.UPDATE_SCREENSHOTS === '1';

type Violation = { id: string; impact: string | null; help: string; nodes: Array<{ target: string[] }> };

/**
 * Every page and view checked with axe-core in Chromium: no serious or
 * critical violation. The main screens are photographed on the way.
 * (axe is injected, so these pages run with CSP bypassed; the other page
 * tests run under the real policy and fail on any console error.)
 */
withBrowser('accessibility of every page (axe-core)', () => {
  let gateway: TestGateway;
  let pages: Awaited<ReturnType<typeof appInBrowser>> | undefined;
  let origin: string;
  let admin: { username: string; password: string };
  let adminToken: string;
  let found: string[] = [];
  beforeEach(() => {
    found = [];
  });

  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_TREE_HEAD_INTERVAL_MS: '0' });
    const crm = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support']));
    for (const [phone, name] of [
      ['13800138111', 'Lin Hua'],
      ['13800138222', 'Chen Jing'],
    ] as const) {
      const written = await request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${crm}`).send({ purpose: 'support', identifiers: { phone }, attributes: { name } }).expect(201);
      await request(gateway.app)
        .put(`/v1/subjects/${written.body.ref}/consents/marketing`)
        .set('Authorization', `Bearer ${crm}`)
        .send({ source: 'web-form', noticeVersion: 'n1', channels: ['call', 'sms'] })
        .expect(200);
      for (let i = 0; i < 3; i += 1)
        await request(gateway.app).post('/v1/contacts/authorize').set('Authorization', `Bearer ${crm}`).send({ ref: written.body.ref, channel: 'call', purpose: 'marketing' });
    }
    admin = await createTestOfficer(gateway, 'admin');
    adminToken = await officerToken(gateway, admin.username, admin.password);
    await request(gateway.app)
      .post('/v1/privacy-requests')
      .send({ type: 'erasure', identifier: { phone: '13800138222' } })
      .expect(202);
    await gateway.runtime.auditIntegrator.flush();
    pages = await appInBrowser(gateway.app);
    origin = `http://127.0.0.1:${pages.port}`;
  }, 60_000);
  afterAll(async () => {
    await pages?.close();
    await gateway.close();
  });

  async function context(options: Parameters<NonNullable<typeof pages>['browser']['newContext']>[0] = {}): Promise<BrowserContext> {
    return pages!.browser.newContext({ bypassCSP: true, acceptDownloads: true, viewport: { width: 1200, height: 800 }, ...options });
  }

  /** axe on the page as it stands; a screenshot of it when it is one of the main screens. */
  async function check(page: Page, label: string, screenshot?: string): Promise<void> {
    await page.addScriptTag({ path: AXE });
    const { violations } = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as { violations: Violation[] };
    for (const v of violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
      found.push(`${label}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    }
    if (!screenshot) return;
    const image = await page.screenshot({ fullPage: true });
    expect(image.subarray(1, 4).toString()).toBe('PNG');
    if (writeScreenshots) {
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      fs.writeFileSync(path.join(SCREENSHOTS, `${screenshot}.png`), image);
    }
  }

  it('finds no serious or critical violation on any view of the console', async () => {
    const page = await (await context()).newPage();
    await page.goto(`${origin}/console`);
    await page.waitForSelector('#sign-in:not([hidden])');
    await check(page, 'console sign-in');
    await page.fill('input[name=username]', admin.username);
    await page.fill('input[name=password]', admin.password);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#chart-contacts svg');
    await check(page, 'console overview', 'console-overview');

    await page.click('nav [data-view=requests]');
    await page.waitForSelector('#queue tr button');
    await page.click('#queue tr button');
    await page.waitForSelector('#request:not([hidden])');
    await check(page, 'console requests', 'console-requests');

    await page.click('nav [data-view=audit]');
    await page.fill('#audit-form input[name=subject]', '138 0013 8111');
    await page.click('#audit-form button[type=submit]');
    await page.click('#events tr:has-text("subjects.subject.create")');
    await page.waitForSelector('#event-proof.ok');
    await check(page, 'console audit', 'console-audit');

    await page.click('nav [data-view=people]');
    await page.fill('#people-form input[name=value]', '13800138111');
    await page.click('#people-form button[type=submit]');
    await page.waitForSelector('#person:not([hidden])');
    await check(page, 'console people', 'console-people');

    await page.click('nav [data-view=integrity]');
    await page.waitForSelector('#signature.ok');
    await check(page, 'console integrity', 'console-integrity');

    await page.click('nav [data-view=admin]');
    await page.waitForSelector('#apps tr');
    await check(page, 'console admin', 'console-admin');
    expect(found).toEqual([]);
  }, 90_000);

  it('finds no serious or critical violation on the privacy center, in both languages and on a phone', async () => {
    for (const [locale, viewport, prefix] of [
      ['en-US', { width: 1200, height: 800 }, 'privacy'],
      ['zh-CN', { width: 390, height: 844 }, 'privacy-phone-zh'],
    ] as const) {
      const page = await (await context({ locale, viewport })).newPage();
      await page.goto(`${origin}/privacy`);
      await page.waitForSelector('#ask:not([hidden])');
      await page.selectOption('#type', 'opt-out');
      await check(page, `privacy ask ${locale}`, `${prefix}-ask`);
      await page.selectOption('#type', 'access');
      await page.fill('input[name=value]', '13800138111');
      await page.click('#ask-form button[type=submit]');
      await page.waitForSelector('#code:not([hidden])');
      await check(page, `privacy code ${locale}`);
      const requestId = (await page.evaluate('sessionStorage.getItem("custos.request")')) as string;
      const outbox = await request(gateway.app).get('/v1/notifier/outbox').query({ requestId }).set('Authorization', `Bearer ${adminToken}`);
      await page.fill('input[name=code]', /(\d{6})/.exec(outbox.body.messages[0].text)![1]!);
      await page.click('#code-form button[type=submit]');
      await page.waitForSelector('#show:not([hidden])');
      await page.click('#show');
      await page.waitForSelector('#export-view:not([hidden])');
      await check(page, `privacy export ${locale}`, `${prefix}-export`);
    }
    expect(found).toEqual([]);
  }, 90_000);
});
