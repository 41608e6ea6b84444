import fs from 'node:fs';
import { appInBrowser, withBrowser } from '../support/browser.ts';
import type { Browser } from 'playwright-core';
import request from 'supertest';
import { appToken, createTestApp, createTestOfficer, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';


/** The customer privacy center at /privacy, driven in a real browser as a person would use it. */
withBrowser('the privacy center in a browser', () => {
  let gateway: TestGateway;
  let pages: Awaited<ReturnType<typeof appInBrowser>> | undefined;
  let browser: Browser;
  let origin: string;
  let admin: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    const crm = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support']));
    await request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${crm}`).send({ purpose: 'support', identifiers: { phone: '13800138771', email: 'privacy.center@example.com' }, attributes: { name: 'Zhou Min' } }).expect(201);
    const officer = await createTestOfficer(gateway, 'admin');
    admin = await officerToken(gateway, officer.username, officer.password);
    pages = await appInBrowser(gateway.app);
    browser = pages.browser;
    origin = `http://127.0.0.1:${pages.port}`;
  }, 60_000);
  afterAll(async () => {
    await pages?.close();
    await gateway.close();
  });

  it('lets a person ask what is held, enter the code and download the export, with every asset from Custos', async () => {
    const page = await browser.newPage({ locale: 'en-US', acceptDownloads: true });
    const problems: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${origin}/privacy`);
    await page.selectOption('#type', 'access');
    await page.selectOption('select[name=kind]', 'phone');
    await page.fill('input[name=value]', '+86 138 0013 8771');
    await page.click('#ask-form button[type=submit]');
    await page.waitForSelector('#code:not([hidden])');

    const requestId = (await page.evaluate('sessionStorage.getItem("custos.request")')) as string;
    const outbox = await request(gateway.app).get('/v1/notifier/outbox').query({ requestId }).set('Authorization', `Bearer ${admin}`);
    const code = /(\d{6})/.exec(outbox.body.messages[0].text)![1]!;
    await page.fill('input[name=code]', code);
    await page.click('#code-form button[type=submit]');
    await page.waitForSelector('#status[data-status=completed]');
    expect(await page.textContent('#steps')).toContain('verified');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const exported = JSON.parse(fs.readFileSync((await download.path())!, 'utf8')) as { held: boolean; fields: Array<{ field: string; value: unknown }> };
    expect(exported.held).toBe(true);
    expect(exported.fields.find((f) => f.field === 'name')?.value).toBe('Zhou Min');
    // The e-mail address was not proven: withheld.
    expect(exported.fields.find((f) => f.field === 'email')?.value).toBeNull();

    // The same page in Chinese, and the request still followed after a reload.
    await page.selectOption('#locale', 'zh-CN');
    expect(await page.textContent('h1')).toBe('您的隐私');
    await page.reload();
    await page.waitForSelector('#status[data-status=completed]');
    expect(await page.textContent('#status')).toBe('已完成');
    expect(requested.every((url) => url.startsWith(origin))).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);

  it('shows what went wrong in the person\'s language: a wrong code leaves the tries', async () => {
    const page = await browser.newPage({ locale: 'zh-CN' });
    await page.goto(`${origin}/privacy`);
    expect(await page.textContent('h1')).toBe('您的隐私');
    await page.fill('input[name=value]', 'someone@example.com');
    await page.selectOption('select[name=kind]', 'email');
    await page.click('#ask-form button[type=submit]');
    await page.waitForSelector('#code:not([hidden])');
    await page.fill('input[name=code]', '000000');
    await page.click('#code-form button[type=submit]');
    await page.waitForSelector('#problem:has-text("出错了")');
    expect(await page.textContent('#problem')).toBe('出错了: 验证码不正确。剩余尝试次数： 4');
  }, 60_000);
});
