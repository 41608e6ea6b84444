import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cleanUpEnvironment, databaseKind, REPO_ROOT, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runProcess } from '../support/processes.ts';

/**
 * The runtime closes what it opened: on shutdown and when start-up fails
 * half-way. Each case runs in a process of its own and must end by itself;
 * a worker thread, pool or timer left open would keep it alive until
 * runProcess gives up on it.
 */
describe(`closing what the runtime opened, on ${databaseKind}`, () => {
  const tsx = path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

  it('a gateway that parsed a large body on its worker thread exits by itself once closed', async () => {
    const env = { ...process.env, ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) } as Record<string, string>;
    const run = await runProcess([tsx, path.join(REPO_ROOT, 'test', 'support', 'scripts', 'close-after-large-body.ts')], { env, timeoutMs: 60_000 });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { scrub: number; bytes: number; open: string[]; after: string[] };
    // Large enough to be parsed off the event loop (over 256 KiB), so the worker was started.
    expect(report.bytes).toBeGreaterThan(256 * 1024);
    expect(report.scrub).toBe(200);
    expect(report.open).toContain('large JSON parser');
    expect(report.after).toEqual([]);
  }, 70_000);

  it('a command whose start-up fails after the database is open (another master key) exits with its message', async () => {
    const env = testEnvironment({ PATH: process.env.PATH ?? '' });
    try {
      expect((await runProcess([CUSTOS_BIN, 'migrate'], { env, timeoutMs: 60_000 })).code).toBe(0);
      const first = await runProcess([CUSTOS_BIN, 'apps', 'list', '--json'], { env, timeoutMs: 60_000 });
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
      const other = { ...env, CUSTOS_MASTER_KEY: randomBytes(32).toString('base64') };
      const refused = await runProcess([CUSTOS_BIN, 'apps', 'list', '--json'], { env: other, timeoutMs: 60_000 });
      expect(refused.code).not.toBe(0);
      expect(refused.code).not.toBeNull();
      expect(refused.stderr).toMatch(/CUSTOS_MASTER_KEY: is not the key this database was set up with/);
    } finally {
      await cleanUpEnvironment(env);
    }
  }, 130_000);
});
