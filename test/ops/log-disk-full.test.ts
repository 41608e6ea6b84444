import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { freePort } from '../support/browser.ts';
import { cleanUpEnvironment, databaseKind, REPO_ROOT, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runProcess } from '../support/processes.ts';

/**
 * A full log disk does not stop the gateway. `custos serve` runs with its
 * standard output on /dev/full, where every write fails with ENOSPC (what a
 * full disk under the log file gives): the gateway keeps answering, its
 * writes keep their audit events, and the failed log lines are counted in a
 * metric. Before, the first request's log line ended the process.
 */
const runs = process.platform === 'linux' && fs.existsSync('/dev/full') ? describe : describe.skip;

runs(`logging to a full disk, on ${databaseKind}`, () => {
  it('keeps serving, and counts the log lines it could not write', async () => {
    const port = await freePort();
    const env = testEnvironment({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', PATH: process.env.PATH ?? '' });
    expect((await runProcess([CUSTOS_BIN, 'migrate'], { env, timeoutMs: 60_000 })).code).toBe(0);
    const full = fs.openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [CUSTOS_BIN, 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', full, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stillRunning = true;
    void exited.then(() => (stillRunning = false));
    const base = `http://127.0.0.1:${port}`;
    try {
      // Ready once it answers (each attempt is a request whose log line fails too).
      for (;;) {
        if (!stillRunning) throw new Error(`custos serve exited before it answered: ${stderr}`);
        const answer = await fetch(`${base}/healthz`).catch(() => undefined);
        if (answer?.ok) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (let i = 0; i < 20; i++) expect((await fetch(`${base}/healthz`)).status).toBe(200);
      // A request that writes: refused with its audit event committed (unknown client), still answered.
      const token = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=app_x&client_secret=y',
      });
      expect(token.status).toBe(401);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const failed = Number(/custos_log_write_failures_total\{outcome="failed"\} (\d+)/.exec(metrics)?.[1] ?? 'NaN');
      expect(failed).toBeGreaterThanOrEqual(22);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(stillRunning).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await exited;
      fs.closeSync(full);
      await cleanUpEnvironment(env);
    }
  }, 60_000);
});
