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
    await request(gateway.app)
      .post('/v1/subjects')
      .set('Authorization', `Bearer ${crm}`)
      .send({ purpose: 'support', identifiers: { phone: '13800138771', email: 'privacy.center@example.com' }, attributes: { name: 'Zhou Min' } })
      .expect(201);
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
    expect(await page.textContent('#steps')).toContain('you confirmed it with the code');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const exported = JSON.parse(fs.readFileSync((await download.path())!, 'utf8')) as { held: boolean; fields: Array<{ field: string; value: unknown }> };
    expect(exported.held).toBe(true);
    expect(exported.fields.find((f) => f.field === 'name')?.value).toBe('Zhou Min');
    // The e-mail address was not proven: withheld.
    expect(exported.fields.find((f) => f.field === 'email')?.value).toBeNull();

    // The same export as a page a person can read: what is held, why, since when, and who looked.
    await page.click('#show');
    await page.waitForSelector('#export-view:not([hidden])');
    expect(await page.textContent('#export-fields')).toContain('Zhou Min');
    expect(await page.textContent('#export-fields')).toContain('Service the customer asked for under their contract');
    expect(await page.textContent('#export-fields')).toContain('(withheld: ask with this identifier to see it)');
    expect(await page.textContent('#export-log')).toContain('Test appstored your data');

    // The same page in Chinese, and the request still followed after a reload.
    await page.selectOption('#locale', 'zh-CN');
    expect(await page.textContent('h1')).toBe('您的隐私');
    expect(await page.textContent('#export-view h2')).toBe('我们保存的关于您的信息');
    await page.reload();
    await page.waitForSelector('#status[data-status=completed]');
    expect(await page.textContent('#status')).toBe('已完成');
    expect(requested.every((url) => url.startsWith(origin))).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);

  it("shows what went wrong in the person's language: a wrong code leaves the tries", async () => {
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

  const code = async (requestId: string) => {
    const outbox = await request(gateway.app).get('/v1/notifier/outbox').query({ requestId }).set('Authorization', `Bearer ${admin}`);
    return /(\d{6})/.exec(outbox.body.messages[0].text)![1]!;
  };

  it('offers the opt-out scope in plain words from the policy and sends only that topic, on a phone-sized screen with the keyboard alone', async () => {
    const page = await browser.newPage({ locale: 'en-US', viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const sent: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/v1/privacy-requests') && sent.push(r.postData() ?? ''));
    await page.goto(`${origin}/privacy`);
    await page.waitForSelector('#scope-choices label', { state: 'attached' });
    // Keyboard only: the request type chosen with an arrow key, the scope with the space bar, Enter to send.
    await page.focus('#type');
    await page.keyboard.press('ArrowDown');
    await page.waitForSelector('#scope:not([hidden])');
    const choices = await page.locator('#scope-choices label').allTextContents();
    expect(choices.map((c) => c.trim())).toEqual([
      'All marketing, on every channel',
      'Only e-mails',
      'Only text messages',
      'Only phone calls',
      'Only messages about cat food',
      'Only messages about dog food',
      'Only messages about bird food',
    ]);
    await page.focus('#scope-choices input[value="topic:bird-food"]');
    await page.keyboard.press('Space');
    await page.focus('input[name=value]');
    await page.keyboard.type('13800138771');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#code:not([hidden])');
    expect(JSON.parse(sent[0]!)).toMatchObject({ type: 'opt-out', scope: { topics: ['bird-food'] } });
    await page.focus('input[name=code]');
    await page.keyboard.type(await code((await page.evaluate('sessionStorage.getItem("custos.request")')) as string));
    await page.keyboard.press('Enter');
    await page.waitForSelector('#status[data-status=completed]');
    // Nothing sticks out of a phone's screen.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
  }, 60_000);

  it("says in the person's language that a phone number is malformed", async () => {
    const page = await browser.newPage({ locale: 'zh-CN' });
    await page.goto(`${origin}/privacy`);
    await page.fill('input[name=value]', '12345');
    await page.click('#ask-form button[type=submit]');
    await page.waitForSelector('#problem:has-text("出错了")');
    expect(await page.textContent('#problem')).toBe('出错了: 手机号码或电子邮箱格式不正确。');
    // Topics in the person's language, from the policy's labels.
    expect(await page.locator('#scope-choices label').allTextContents()).toContain(' 仅停止关于鸟粮的信息');
    expect(await page.isVisible('#ask')).toBe(true);
  }, 60_000);

  it('says the request is locked after five wrong codes, and what to do next', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(`${origin}/privacy`);
    await page.fill('input[name=value]', 'locked.out@example.com');
    await page.selectOption('select[name=kind]', 'email');
    await page.click('#ask-form button[type=submit]');
    await page.waitForSelector('#code:not([hidden])');
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      await page.fill('input[name=code]', '000000');
      await page.click('#code-form button[type=submit]');
      await page.waitForSelector(attempt < 5 ? `#problem:has-text("Tries left: ${5 - attempt}")` : '#follow:not([hidden])');
    }
    expect(await page.textContent('#status')).toBe('Locked after too many wrong codes');
    expect(await page.textContent('#locked-help')).toContain('Make a new request to get a new code.');
    expect(await page.isVisible('#locked-help')).toBe(true);
    expect(await page.isVisible('#download')).toBe(false);
  }, 60_000);
});
