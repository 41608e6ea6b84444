import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appInBrowser, withBrowser } from '../support/browser.ts';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { runTestSql } from '../support/sql.ts';
import { appToken, createTestApp, createTestOfficer, officerToken, startTestGateway, verifyLog, type TestGateway } from '../support/gateway.ts';

/** The officers' console at /console, driven in a real browser. */
withBrowser('the officer console in a browser', () => {
  let gateway: TestGateway;
  let pages: Awaited<ReturnType<typeof appInBrowser>> | undefined;
  let browser: Browser;
  let origin: string;
  const officers: Record<string, { username: string; password: string }> = {};
  let correctionId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_TREE_HEAD_INTERVAL_MS: '0' });
    const crm = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support']));
    const written = await request(gateway.app)
      .post('/v1/subjects')
      .set('Authorization', `Bearer ${crm}`)
      .send({ purpose: 'support', identifiers: { phone: '13800138881' }, attributes: { name: 'Wu Fang' } })
      .expect(201);
    await request(gateway.app)
      .put(`/v1/subjects/${written.body.ref}/consents/marketing`)
      .set('Authorization', `Bearer ${crm}`)
      .send({ source: 'web-form', noticeVersion: 'n1', topics: ['cat-food'] })
      .expect(200);
    for (const role of ['admin', 'privacy-agent', 'auditor'] as const) officers[role] = await createTestOfficer(gateway, role);
    const admin = await officerToken(gateway, officers.admin!.username, officers.admin!.password);
    const submitted = await request(gateway.app)
      .post('/v1/privacy-requests')
      .send({ type: 'correction', identifier: { phone: '13800138881' }, correction: { name: 'Wu Fang-Li' } });
    correctionId = submitted.body.id;
    const outbox = await request(gateway.app).get('/v1/notifier/outbox').query({ requestId: correctionId }).set('Authorization', `Bearer ${admin}`);
    await request(gateway.app)
      .post(`/v1/privacy-requests/${correctionId}/verify`)
      .send({ code: /(\d{6})/.exec(outbox.body.messages[0].text)![1] })
      .expect(200);
    await gateway.runtime.auditIntegrator.flush();
    pages = await appInBrowser(gateway.app);
    browser = pages.browser;
    origin = `http://127.0.0.1:${pages.port}`;
  }, 60_000);
  afterAll(async () => {
    await pages?.close();
    await gateway.close();
  });

  async function signIn(page: Page, role: string): Promise<void> {
    await page.goto(`${origin}/console`);
    await page.fill('input[name=username]', officers[role]!.username);
    await page.fill('input[name=password]', officers[role]!.password);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#nav:not([hidden])');
  }

  it('lets a privacy agent work the queue: open a request, see its steps, approve it with a reason', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await signIn(page, 'privacy-agent');
    expect(await page.isVisible('nav [data-view=audit]')).toBe(false);
    await page.waitForSelector(`#queue tr[data-id="${correctionId}"]`);
    await page.click(`#queue tr[data-id="${correctionId}"] button`);
    await page.waitForSelector('#decision-form:not([hidden])');
    expect(await page.textContent('#request-steps')).toContain('verified');
    await page.fill('#decision-form input[name=reason]', 'the customer showed an ID card');
    await page.click('#decision-form button[value=approve]');
    // (Playwright's string waits need eval, which the page's CSP refuses: selectors instead.)
    await page.waitForSelector('#request-title:has-text("completed")');
    expect(await page.textContent('#request-steps')).toContain('approved');
    expect((await gateway.runtime.db.read.privacyRequest.findUniqueOrThrow({ where: { id: correctionId } })).status).toBe('completed');
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in:not([hidden])');
    expect(problems).toEqual([]);
  }, 60_000);

  it('lets an auditor search the trail by a raw phone number and check the signed tree head and its consistency in the browser', async () => {
    const page = await browser.newPage();
    await signIn(page, 'auditor');
    expect(await page.isVisible('nav [data-view=requests]')).toBe(false);
    // The overview is the auditor's first view: the last 30 days from /v1/audit/stats.
    await page.waitForSelector('#chart-contacts svg');
    expect(await page.locator('#chart-reasons text').allTextContents()).toEqual(expect.arrayContaining(['frequency-cap', 'quiet-hours', 'do-not-call', 'no-consent', 'topic-opted-out']));
    expect(await page.textContent('#totals')).toMatch(/; 1 requests opened\./);
    await page.click('nav [data-view=audit]');
    await page.fill('#audit-form input[name=subject]', '+86 138 0013 8881');
    await page.click('#audit-form button[type=submit]');
    await page.waitForSelector('#events tr');
    expect(await page.textContent('#events')).toContain('subjects.subject.correct');
    // One event opens with its fields, its leaf hash recomputed and its inclusion proof checked in the browser.
    await page.click('#events tr:has-text("subjects.subject.correct")');
    await page.waitForSelector('#event-proof.ok, #event-proof.bad');
    expect(await page.textContent('#event-proof')).toMatch(/^verified: leaf \d+ of the signed tree of/);

    await page.click('nav [data-view=integrity]');
    await page.waitForSelector('#signature.ok, #signature.bad');
    expect(await page.textContent('#signature')).toBe('verified');
    expect(await page.textContent('#consistency')).toBe('first check in this browser');
    // The log grows; the next check proves the new head extends the one this browser kept.
    await request(gateway.app).post('/v1/officers/session').send({ username: 'nobody', password: 'wrong' });
    await gateway.runtime.auditIntegrator.flush();
    await page.click('#check');
    await page.waitForSelector('#consistency:has-text("consistent with")');
    expect(await page.getAttribute('#consistency', 'class')).toBe('ok');
  }, 60_000);

  it('lets a privacy agent look a person up by phone: consents with history, and the internal do-not-call entry added and removed', async () => {
    const page = await browser.newPage();
    await signIn(page, 'privacy-agent');
    await page.click('nav [data-view=people]');
    await page.fill('#people-form input[name=value]', '138-0013-8881');
    await page.click('#people-form button[type=submit]');
    await page.waitForSelector('#person:not([hidden])');
    expect(await page.textContent('#consents')).toContain('cat-food');
    expect(await page.textContent('#consent-history')).toContain('marketing grant (web-form)');
    expect(await page.textContent('#dnc-status')).toBe('Not on any do-not-call list');
    await page.click('#dnc-add');
    await page.waitForSelector('#dnc-status:has-text("Listed: internal")');
    await page.click('#dnc-remove');
    await page.waitForSelector('#dnc-status:has-text("Not on any")');
    // The page showed no value of the person's, and the looks are in the trail.
    expect(await page.textContent('#people')).not.toContain('Wu Fang');
    expect((await gateway.runtime.db.read.auditEvent.count({ where: { action: 'people.person.view' } })) >= 3).toBe(true);
  }, 60_000);

  it('lets an agent approve an erasure: the person is gone, the trail still verifies', async () => {
    const crm = await appToken(gateway, await createTestApp(gateway, ['support']));
    const written = await request(gateway.app)
      .post('/v1/subjects')
      .set('Authorization', `Bearer ${crm}`)
      .send({ purpose: 'support', identifiers: { phone: '13800138999' }, attributes: { name: 'Gone Soon' } })
      .expect(201);
    const admin = await officerToken(gateway, officers.admin!.username, officers.admin!.password);
    const erasure = await request(gateway.app)
      .post('/v1/privacy-requests')
      .send({ type: 'erasure', identifier: { phone: '13800138999' } })
      .expect(202);
    const outbox = await request(gateway.app).get('/v1/notifier/outbox').query({ requestId: erasure.body.id }).set('Authorization', `Bearer ${admin}`);
    await request(gateway.app)
      .post(`/v1/privacy-requests/${erasure.body.id}/verify`)
      .send({ code: /(\d{6})/.exec(outbox.body.messages[0].text)![1] })
      .expect(200);

    const page = await browser.newPage();
    await signIn(page, 'privacy-agent');
    await page.click(`#queue tr[data-id="${erasure.body.id}"] button`);
    await page.waitForSelector('#decision-form:not([hidden])');
    expect(await page.textContent('#request-title')).toContain('erasure');
    await page.fill('#decision-form input[name=reason]', 'no legal hold applies');
    await page.click('#decision-form button[value=approve]');
    await page.waitForSelector('#request-title:has-text("completed")');
    expect(await page.textContent('#request-steps')).toContain('erased');
    expect((await request(gateway.app).get(`/v1/subjects/${written.body.ref}`).query({ purpose: 'support' }).set('Authorization', `Bearer ${crm}`)).status).toBe(404);
    expect((await verifyLog(gateway)).ok).toBe(true);
  }, 60_000);

  it('says "not verified" for an event whose stored fields were changed after it was logged', async () => {
    await runTestSql(gateway, 'allowTampering');
    const target = await gateway.runtime.db.read.auditEvent.findFirstOrThrow({ where: { action: 'people.person.view', decision: 'allow' } });
    await gateway.runtime.db.transaction((tx) => tx.auditEvent.update({ where: { no: target.no }, data: { purpose: 'marketing' } }));
    const page = await browser.newPage();
    await signIn(page, 'auditor');
    await page.click('nav [data-view=audit]');
    await page.fill('#audit-form input[name=action]', 'people.person.view');
    await page.click('#audit-form button[type=submit]');
    await page.click(`#events tr[data-id="${target.id}"]`);
    await page.waitForSelector('#event-proof.ok, #event-proof.bad');
    expect(await page.textContent('#event-proof')).toBe('not verified: its fields do not hash to the leaf the log holds');
  }, 60_000);

  it('answers a wrong password and an unknown username with the same message', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/console`);
    const attempt = async (username: string, password: string) => {
      await page.fill('input[name=username]', username);
      await page.fill('input[name=password]', password);
      await page.click('#sign-in-form button[type=submit]');
      await page.waitForSelector('#problem:not(:empty)');
      const text = await page.textContent('#problem');
      await page.evaluate('document.querySelector("#problem").textContent = ""');
      return text;
    };
    const wrong = await attempt(officers.auditor!.username, 'not the password at all');
    expect(wrong).toBe('unknown username or wrong password');
    expect(await attempt('nobody-by-this-name', 'not the password at all')).toBe(wrong);
    expect(await page.isVisible('#nav')).toBe(false);
  }, 60_000);

  it('lets an admin create an app (secret shown once) and an officer, and remove the app', async () => {
    const page = await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await signIn(page, 'admin');
    await page.click('nav [data-view=admin]');
    await page.waitForSelector('#app-purposes input');
    await page.fill('#app-form input[name=name]', 'SMS campaigns');
    await page.check('#app-purposes input[value=marketing]');
    await page.check('#app-reveal input[value=sms]');
    await page.click('#app-form button[type=submit]');
    await page.waitForSelector('#admin-once:not([hidden])');
    const once = (await page.textContent('#admin-once-text'))!;
    const [, clientId, secret] = /client id (app_\w+), client secret (cs_[\w-]+)/.exec(once)!;
    const token = await request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
    expect(token.body.scope).toBe('marketing');
    expect(await page.textContent(`#apps tr[data-app="${clientId}"]`)).toContain('marketing');

    await page.fill('#officer-form input[name=username]', 'night-shift');
    await page.selectOption('#officer-form select[name=role]', 'privacy-agent');
    await page.click('#officer-form button[type=submit]');
    await page.waitForSelector('#officers tr[data-officer="night-shift"]');
    const password = /password (\S+)\. Hand it over/.exec((await page.textContent('#admin-once-text'))!)![1]!;
    expect((await request(gateway.app).post('/v1/officers/session').send({ username: 'night-shift', password })).status).toBe(200);
    // The admin's own row cannot be removed from here.
    expect(await page.textContent(`#officers tr[data-officer="${officers.admin!.username}"]`)).toContain('you');

    await page.click(`#apps tr[data-app="${clientId}"] button`);
    await page.waitForSelector(`#apps tr[data-app="${clientId}"]:has-text("removed")`);
    expect((await request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret })).status).toBe(401);
  }, 60_000);

  it("lists imports on the Admin view with their counts, and hands over an import's refusals as a file", async () => {
    const crmApp = await createTestApp(gateway, ['marketing']);
    const file = path.join(os.tmpdir(), `console-import-${Date.now()}.ndjson`);
    fs.writeFileSync(
      file,
      [
        { id: 'c-1', purpose: 'marketing', identifiers: { phone: '+8613600136001' }, consents: [{ purpose: 'marketing', grantedAt: '2024-01-01T00:00:00Z', source: 'crm' }] },
        { id: 'c-2', purpose: 'marketing', identifiers: { phone: '+8613600136002' }, attributes: { shoeSize: 42 } },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const run = await gateway.runtime.imports.importFile({ actor: { type: 'system', id: 'test' }, requestId: 'console-import', policyVersion: gateway.runtime.loaded.version }, file, {
      app: crmApp.clientId,
      format: 'ndjson',
      dryRun: false,
    });
    const page = await browser.newPage({ acceptDownloads: true });
    await signIn(page, 'admin');
    await page.click('nav [data-view=admin]');
    const rowOf = `#imports tr[data-import="${run.id}"]`;
    await page.waitForSelector(rowOf);
    const cells = await page.$$eval(`${rowOf} td`, (tds) => tds.map((td) => td.textContent));
    expect(cells.slice(2, 8)).toEqual(['completed', '2', '1', '0', '0', '1']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`${rowOf} button`)]);
    expect(download.suggestedFilename()).toBe(`${run.id}-refusals.csv`);
    expect(fs.readFileSync((await download.path())!, 'utf8')).toBe('line,field,reason\n2,"attributes.shoeSize","unknown-field"\n');
  }, 60_000);

  it('exports the current audit search as NDJSON', async () => {
    const page = await browser.newPage({ acceptDownloads: true });
    await signIn(page, 'auditor');
    await page.click('nav [data-view=audit]');
    await page.selectOption('#audit-form select[name=decision]', 'deny');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-ndjson')]);
    expect(download.suggestedFilename()).toBe('custos-audit.ndjson');
    const lines = fs
      .readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { decision: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((e) => e.decision === 'deny')).toBe(true);
  }, 60_000);

  it('says "not verified" when the inclusion proof it is sent was tampered with', async () => {
    const page = await browser.newPage();
    // A man in the middle (or a lying server) changes one hash of the audit path.
    await page.route('**/v1/audit/proofs/inclusion*', async (route) => {
      const proof = (await (await route.fetch()).json()) as { auditPath: string[] };
      proof.auditPath[0] = proof.auditPath[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      await route.fulfill({ json: proof });
    });
    await signIn(page, 'auditor');
    await page.click('nav [data-view=audit]');
    await page.fill('#audit-form input[name=action]', 'subjects.subject.create');
    await page.click('#audit-form button[type=submit]');
    await page.click('#events tr:has-text("subjects.subject.create")');
    await page.waitForSelector('#event-proof.ok, #event-proof.bad');
    expect(await page.textContent('#event-proof')).toBe('not verified: the inclusion proof does not lead to the signed root');
  }, 60_000);
});
