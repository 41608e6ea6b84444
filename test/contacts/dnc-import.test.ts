import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { importRegistry } from '../../src/modules/contacts/dnc-import.ts';
import { createTestOfficer, officerToken, startTestGateway, systemContext, type TestGateway } from '../support/gateway.ts';
import { runCustos } from '../support/processes.ts';

async function* linesOf(text: string, failAfter?: number) {
  let n = 0;
  for (const line of text.split('\n')) {
    if (failAfter !== undefined && n++ >= failAfter) throw new Error('the import process died');
    yield line;
  }
}

describe('custos dnc import', () => {
  let gateway: TestGateway;
  let officer: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    const agent = await createTestOfficer(gateway, 'privacy-agent');
    officer = await officerToken(gateway, agent.username, agent.password);
  });
  afterAll(() => gateway.close());

  const listed = async (phone: string) => (await request(gateway.app).get('/v1/dnc/check').query({ phone }).set('Authorization', `Bearer ${officer}`)).body;
  const run = (source: string, text: string, failAfter?: number) => importRegistry({ db: gateway.runtime.db, subjects: gateway.runtime.subjects }, systemContext(gateway), source, linesOf(text, failAfter));

  it('reads a messy registry file and reports accepted, invalid, duplicate and skipped lines', async () => {
    const file = ['\uFEFF# national registry export', '13800000001\r', '', '+86 138 0000 0002', 'not a number', '138000000O3', '13800000001', '  13800000004  ', '# end', '1380000'].join('\n');
    const report = await run('national', file);
    expect(report).toMatchObject({ source: 'national', accepted: 3, invalid: 3, duplicate: 1, skipped: 3, replacedImport: null });
    expect(await listed('+8613800000001')).toEqual({ listed: true, sources: ['national'] });
    expect(await listed('13800000004')).toEqual({ listed: true, sources: ['national'] });
    expect(await listed('13800000009')).toEqual({ listed: false, sources: [] });
    expect(JSON.stringify(await gateway.runtime.db.read.dncEntry.findMany())).not.toMatch(/1380000000[1-4]/);
  });

  it('reads CSV with a header naming the phone column', async () => {
    const report = await run('partner-csv', 'name,phone,added\n"A",13800000011,2026-01-01\nB,+8613800000012,2026-01-02\nC,,2026-01-03\n');
    expect(report).toMatchObject({ accepted: 2, invalid: 1 });
    expect((await listed('13800000012')).sources).toEqual(['partner-csv']);
  });

  it('replaces the previous list of the same source atomically', async () => {
    await run('weekly', '13800000021\n13800000022\n');
    const second = await run('weekly', '13800000022\n13800000023\n');
    expect(second.replacedImport).not.toBeNull();
    expect((await listed('13800000021')).listed).toBe(false);
    expect((await listed('13800000022')).listed).toBe(true);
    expect((await listed('13800000023')).listed).toBe(true);
    expect(await gateway.runtime.db.read.dncEntry.count({ where: { source: 'weekly' } })).toBe(2);
  });

  it('leaves the old list in force when an import dies midway', async () => {
    await run('carrier', '13800000031\n13800000032\n');
    const big = Array.from({ length: 12_000 }, (_, i) => `139${String(i).padStart(8, '0')}`).join('\n');
    await expect(run('carrier', big, 11_000)).rejects.toThrow('the import process died');
    expect((await listed('13800000031')).listed).toBe(true);
    expect((await listed('13900000005')).listed).toBe(false); // written by the dead import, never in force
    const next = await run('carrier', '13800000033\n');
    expect(next.accepted).toBe(1);
    expect(await gateway.runtime.db.read.dncEntry.count({ where: { source: 'carrier' } })).toBe(1);
  });

  it('refuses a source name that is not a plain name, and a CSV without a phone column', async () => {
    await expect(run('Bad Name!', '13800000041\n')).rejects.toMatchObject({ status: 400 });
    await expect(run('internal', '13800000041\n')).rejects.toMatchObject({ status: 400 });
    await expect(run('nocol', 'name,email\nA,a@example.com\n')).rejects.toMatchObject({ status: 400 });
  });

  it('runs from the CLI with counts as JSON', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-dnc-'));
    const file = path.join(dir, 'registry.txt');
    fs.writeFileSync(file, '13800000051\r\n13800000052\r\nabc\r\n');
    const result = await runCustos(['dnc', 'import', file, '--source', 'cli-list', '--json'], { env: gateway.env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ source: 'cli-list', accepted: 2, invalid: 1, duplicate: 0 });
    expect((await listed('13800000052')).sources).toEqual(['cli-list']);
  });
});
