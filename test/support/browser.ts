import type { Express } from 'express';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * The browser the page tests drive: Debian's chromium (CI installs it, see
 * .ci/run), or CHROMIUM_PATH. Without one the tests are skipped locally and
 * fail in CI, where a missing browser is a broken setup.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`no browser at ${CHROMIUM}: CI installs Debian's chromium (.ci/run); set CHROMIUM_PATH otherwise`);

export const withBrowser: jest.Describe = available ? describe : describe.skip;
export const BROWSER_ARGS = ['--no-sandbox'];

/** A port free at this moment, for a page whose address must be known before it is served (an OIDC redirect URI). */
export async function freePort(): Promise<number> {
  const probe = http.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** An app listening on a real socket (on `host`, port 0 unless given) with a browser to drive it; `close` ends both. */
export async function appInBrowser(app: Express, host = '127.0.0.1', port = 0) {
  const server = http.createServer(app).listen(port, host);
  await new Promise((resolve) => server.once('listening', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  // Every page the tests open is watched: a Content-Security-Policy violation or an
  // uncaught error in the page fails the suite when it closes (failed requests the
  // tests provoke, such as a 422 for a wrong code, are not errors of the page).
  const broken: string[] = [];
  const watch = (context: BrowserContext) =>
    context.on('page', (page) => {
      page.on('pageerror', (error) => broken.push(`${page.url()}: uncaught ${error.message}`));
      page.on('console', (message) => /Content Security Policy|Refused to/.test(message.text()) && broken.push(`${page.url()}: ${message.text()}`));
    });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    watch(context);
    return context;
  };
  browser.newPage = async (options) => {
    const page = await (await browser.newContext(options)).newPage();
    return page;
  };
  return {
    port: (server.address() as AddressInfo).port,
    browser,
    async close(): Promise<void> {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      if (broken.length > 0) throw new Error(`the pages broke:\n${broken.join('\n')}`);
    },
  };
}
