import type { Express } from 'express';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';

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
  return {
    port: (server.address() as AddressInfo).port,
    browser,
    async close(): Promise<void> {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
