import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { runCustosInProcess } from '../support/cli.ts';
import { appToken, createTestApp, databaseKind, startTestGateway, verifyLog, type TestGateway } from '../support/gateway.ts';

/**
 * `custos backup OUT` copies the embedded database while the gateway takes
 * writes; a gateway started on the copy finds every write acknowledged
 * before the backup began, and its audit trail verifies.
 */
const onSqlite = databaseKind === 'sqlite' ? describe : describe.skip;

onSqlite('custos backup under write load, then restore', () => {
  let gateway: TestGateway;
  let restored: TestGateway | undefined;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    await restored?.close();
    await gateway.close();
  });

  it('restores a copy that holds every acknowledged write and a trail that verifies', async () => {
    const credentials = await createTestApp(gateway, ['marketing', 'support']);
    const token = await appToken(gateway, credentials);
    const acknowledged: string[] = [];
    let n = 0;
    const write = async () => {
      const i = n++;
      const answer = await request(gateway.app)
        .post('/v1/subjects')
        .set('Authorization', `Bearer ${token}`)
        .send({ purpose: 'support', identifiers: { email: `backup-${i}@example.com` }, attributes: { name: `Backup ${i}` } });
      if (answer.status === 201) acknowledged.push(answer.body.ref as string);
      return answer.status;
    };
    // Writers keep writing while the backup runs.
    let writing = true;
    const writers = Array.from({ length: 4 }, async () => {
      const statuses: number[] = [];
      while (writing) statuses.push(await write());
      return statuses;
    });
    while (acknowledged.length < 40) await new Promise((resolve) => setImmediate(resolve));
    const before = [...acknowledged];
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'custos-backup-')), 'custos.db');
    const backup = await runCustosInProcess(['backup', out, '--json'], { env: gateway.env });
    writing = false;
    const statuses = (await Promise.all(writers)).flat();
    expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(backup.stdout)).toMatchObject({ database: 'sqlite', backup: out, pages: expect.any(Number) });
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    // A second backup to the same file is refused: a backup never overwrites.
    expect((await runCustosInProcess(['backup', out], { env: gateway.env })).stderr).toMatch(/exists already/);

    // Restore: a gateway whose data directory holds the copy, with the same master key.
    const dataDir = path.dirname(out);
    restored = await startTestGateway({ CUSTOS_DATA_DIR: dataDir, CUSTOS_MASTER_KEY: gateway.env.CUSTOS_MASTER_KEY! });
    const restoredToken = await appToken(restored, credentials);
    for (const ref of before) {
      const read = await request(restored.app).get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set('Authorization', `Bearer ${restoredToken}`);
      expect({ ref, status: read.status }).toEqual({ ref, status: 200 });
    }
    expect(await verifyLog(restored)).toMatchObject({ ok: true });
  }, 120_000);
});

const onPostgres = databaseKind === 'postgresql' ? describe : describe.skip;

onPostgres('custos backup on PostgreSQL', () => {
  it('says to use pg_dump, and writes nothing', async () => {
    const gateway = await startTestGateway();
    try {
      const out = path.join(gateway.env.CUSTOS_DATA_DIR!, 'never.db');
      const answer = await runCustosInProcess(['backup', out], { env: gateway.env });
      expect(answer.code).toBe(1);
      expect(answer.stderr).toMatch(/pg_dump -Fc/);
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      await gateway.close();
    }
  });
});
