import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { freePort } from '../support/browser.ts';
import { databaseKind, freshDatabaseUrl, REPO_ROOT, dropSchema } from '../support/gateway.ts';
import { randomBytes } from 'node:crypto';

/**
 * deploy/custos.service as systemd would run it: its ExecStart line (with the
 * install paths mapped to this checkout and this Node), its EnvironmentFile
 * read as KEY=VALUE lines, its WorkingDirectory; stopped with its KillSignal.
 * The gateway must serve, then drain and exit 0 on SIGTERM.
 */
describe(`the systemd unit in deploy/, on ${databaseKind}`, () => {
  const unit = fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'custos.service'), 'utf8');
  const directive = (name: string) => new RegExp(`^${name}=(.+)$`, 'm').exec(unit)?.[1];

  it('names node itself (not npm, which does not pass SIGTERM on) and SIGTERM to stop it', () => {
    expect(directive('ExecStart')).toBe('/usr/bin/node /opt/custos/bin/custos serve');
    expect(directive('KillSignal')).toBe('SIGTERM');
    expect(directive('EnvironmentFile')).toBe('/etc/custos/custos.env');
  });

  it('serves with the environment file, then drains and exits 0 on SIGTERM', async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-unit-'));
    const port = await freePort();
    const databaseUrl = freshDatabaseUrl();
    const envFile = path.join(workDir, 'custos.env');
    fs.writeFileSync(
      envFile,
      [
        `CUSTOS_DATA_DIR=${workDir}/data`,
        `CUSTOS_MASTER_KEY=${randomBytes(32).toString('base64')}`,
        `CUSTOS_PUBLIC_URL=http://127.0.0.1:${port}`,
        `POLICY_DIR=${REPO_ROOT}/policies`,
        `HOST=127.0.0.1`,
        `PORT=${port}`,
        ...(databaseUrl ? [`DATABASE_URL=${databaseUrl}`] : []),
        '',
      ].join('\n'),
    );
    const [program, ...args] = directive('ExecStart')!.replace('/usr/bin/node', process.execPath).replace('/opt/custos', REPO_ROOT).split(' ');
    const env = { PATH: process.env.PATH ?? '', ...parseEnv(fs.readFileSync(envFile, 'utf8')) } as Record<string, string>;
    if (databaseUrl) {
      const migrated = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'custos'), 'migrate'], { cwd: workDir, env, stdio: 'ignore' });
      expect(await new Promise((resolve) => migrated.once('exit', resolve))).toBe(0);
    }
    const child = spawn(program!, args, { cwd: workDir, env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      while (!/custos listening/.test(out)) {
        if (child.exitCode !== null) throw new Error(`exited before it listened: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      child.kill(directive('KillSignal') as NodeJS.Signals);
      expect(await exited).toBe(0);
      expect(out).toMatch(/shutting down: draining in-flight requests/);
      expect(out).toMatch(/"message":"stopped"/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (databaseUrl) await dropSchema(databaseUrl);
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }, 60_000);
});
