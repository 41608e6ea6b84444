import express from 'express';
import helmet from 'helmet';
import { appInBrowser, withBrowser } from '../support/browser.ts';

/** The page tests' watch on their pages: a CSP violation fails the suite, so it must be seen. */
withBrowser('the page tests see CSP violations and uncaught errors', () => {
  it('reports an inline script the policy refuses, and an error thrown in the page', async () => {
    const app = express();
    app.use(helmet());
    app.get('/inline', (_req, res) => res.type('html').send('<!doctype html><title>x</title><script>document.title = "ran"</script>'));
    app.get('/throws', (_req, res) => res.type('html').send('<!doctype html><title>x</title><script src="/throws.js"></script>'));
    app.get('/throws.js', (_req, res) => res.type('js').send('throw new Error("boom")'));
    const pages = await appInBrowser(app);
    const page = await pages.browser.newPage();
    await page.goto(`http://127.0.0.1:${pages.port}/inline`);
    expect(await page.title()).toBe('x');
    await page.goto(`http://127.0.0.1:${pages.port}/throws`);
    await expect(pages.close()).rejects.toThrow(/Content Security Policy[\s\S]*uncaught boom/);
  }, 60_000);
});
