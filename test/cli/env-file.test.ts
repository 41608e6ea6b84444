import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withEnvFile } from '../../src/cli/env-file.ts';
import { databaseKind, REPO_ROOT } from '../support/gateway.ts';

/** The server and every CLI command read the working directory's .env; the process's own environment wins. */
describe('.env in the working directory', () => {
  it('fills in what the environment does not set, and never overrides it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-envfile-'));
    try {
      fs.writeFileSync(path.join(dir, '.env'), '# a comment\nPORT=9090\nLOG_LEVEL="warn"\nPOLICY_DIR=./from-file\n');
      expect(withEnvFile({ PORT: '7070' }, dir)).toEqual({ PORT: '7070', LOG_LEVEL: 'warn', POLICY_DIR: './from-file' });
      expect(withEnvFile({ PORT: '7070' }, path.join(dir, 'nowhere'))).toEqual({ PORT: '7070' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const onSqlite = databaseKind === 'sqlite' ? it : it.skip;
  onSqlite(
    'is what a custos command run from that directory acts on',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-envfile-'));
      try {
        fs.writeFileSync(path.join(dir, '.env'), `CUSTOS_DATA_DIR=${dir}/data\nCUSTOS_MASTER_KEY=${randomBytes(32).toString('base64')}\nPOLICY_DIR=${REPO_ROOT}/policies\n`);
        const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'custos'), 'apps', 'list', '--json'], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
        expect(JSON.parse(out)).toEqual([]);
        expect(fs.existsSync(path.join(dir, 'data', 'custos.db'))).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
