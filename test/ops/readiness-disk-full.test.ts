import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * The embedded database on a disk that fills up: /readyz says not ready while
 * nothing can be written, and ready again once there is room. Needs a small
 * tmpfs, so it runs where the suite may mount one (root, as in CI).
 */
function smallDisk(): { dir: string; release(): void } | undefined {
  if (databaseKind !== 'sqlite' || process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-full-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]).status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    release() {
      spawnSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const disk = smallDisk();
const runs = disk ? describe : describe.skip;

runs('readiness on a full disk', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ CUSTOS_DATA_DIR: path.join(disk!.dir, 'data') });
  });
  afterAll(async () => {
    await gateway?.close().catch(() => undefined);
    disk!.release();
  });

  it('reports a database that cannot write as not ready, and recovers when there is room again', async () => {
    expect((await request(gateway.app).get('/readyz')).status).toBe(200);
    const filler = path.join(disk!.dir, 'filler');
    // Fill every free byte of the disk.
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    try {
      // Enough writes to need new pages in the write-ahead log.
      for (let i = 0; i < 20; i++)
        await request(gateway.app)
          .post('/v1/officers/session')
          .send({ username: `nobody-${i}`, password: 'x'.repeat(2000) });
      const full = await request(gateway.app).get('/readyz');
      expect({ status: full.status, database: full.body.checks.database }).toEqual({ status: 503, database: 'cannot-write' });
    } finally {
      fs.rmSync(filler);
    }
    const again = await request(gateway.app).get('/readyz');
    expect({ status: again.status, database: again.body.checks.database }).toEqual({ status: 200, database: 'ok' });
    execFileSync('sync');
  });
});
