import fs from 'node:fs';

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
