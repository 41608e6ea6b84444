import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { importRegistry } from '../../src/modules/dnc/import.ts';
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
  const run = (source: string, text: string, failAfter?: number, options?: { threads?: number; runSize?: number }) =>
    importRegistry({ db: gateway.runtime.db, pseudonyms: gateway.runtime.pseudonyms }, systemContext(gateway), source, linesOf(text, failAfter), undefined, options);
  /** Rows the source holds in dnc_number, over all its runs (the one in force and any not yet removed). */
  const storedNumbers = async (source: string) => {
    const runs = await gateway.runtime.db.read.dncImport.findMany({ where: { source } });
    return { runs: runs.length, numbers: await gateway.runtime.db.read.dncNumber.count({ where: { importNo: { in: runs.map((r) => r.importNo) } } }) };
  };

  it('reads a messy registry file and reports accepted, invalid, duplicate and skipped lines', async () => {
    const file = ['\uFEFF# national registry export', '13800000001\r', '', '+86 138 0000 0002', 'not a number', '138000000O3', '13800000001', '  13800000004  ', '# end', '1380000'].join('\n');
    const report = await run('national', file);
    expect(report).toMatchObject({ source: 'national', accepted: 3, invalid: 3, duplicate: 1, skipped: 3, replacedImport: null });
    expect(await listed('+8613800000001')).toEqual({ listed: true, sources: ['national'] });
    expect(await listed('13800000004')).toEqual({ listed: true, sources: ['national'] });
    expect(await listed('13800000009')).toEqual({ listed: false, sources: [] });
    expect(await storedNumbers('national')).toEqual({ runs: 1, numbers: 3 });
    const stored = (await gateway.runtime.db.read.dncNumber.findMany()).map((r) => String(r.tag)).join(' ');
    expect(stored).not.toMatch(/1380000000[1-4]/);
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
    expect(await storedNumbers('weekly')).toEqual({ runs: 1, numbers: 2 });
  });

  it('leaves the old list in force when an import dies midway', async () => {
    await run('carrier', '13800000031\n13800000032\n');
    const big = Array.from({ length: 12_000 }, (_, i) => `139${String(i).padStart(8, '0')}`).join('\n');
    await expect(run('carrier', big, 11_000)).rejects.toThrow('the import process died');
    expect((await listed('13800000031')).listed).toBe(true);
    expect((await listed('13900000005')).listed).toBe(false); // written by the dead import, never in force
    const next = await run('carrier', '13800000033\n');
    expect(next.accepted).toBe(1);
    expect(await storedNumbers('carrier')).toEqual({ runs: 1, numbers: 1 }); // the dead run's rows are gone too
  });

  it('tags large files on worker threads, sorts them in runs and counts duplicates across runs', async () => {
    const numbers = Array.from({ length: 20_000 }, (_, i) => `150${String(i * 7).padStart(8, '0')}`);
    const repeats = numbers.filter((_, i) => i % 4 === 0); // 5,000 lines seen before, in other batches and runs
    const report = await run('big-registry', [...numbers, ...repeats, 'x123'].join('\n'), undefined, { threads: 2, runSize: 7_000 });
    expect(report).toMatchObject({ accepted: 20_000, duplicate: 5_000, invalid: 1 });
    expect(await storedNumbers('big-registry')).toEqual({ runs: 1, numbers: 20_000 });
    for (const phone of [numbers[0]!, numbers[9_999]!, numbers[19_999]!]) expect((await listed(phone)).sources).toEqual(['big-registry']);
    expect((await listed('15000000001')).listed).toBe(false);
  });

  it('keeps matching numbers imported before a key rotation', async () => {
    await run('before-rotation', '13800000061\n');
    await gateway.runtime.subjects.rotateKeys(systemContext(gateway));
    expect((await listed('13800000061')).sources).toEqual(['before-rotation']);
    await run('after-rotation', '13800000061\n');
    expect((await listed('13800000061')).sources).toEqual(['after-rotation', 'before-rotation']);
  });

  it('finds a number listed only under a key version that no lookup of this process has seen yet', async () => {
    expect((await listed('13800000071')).listed).toBe(false);
    await gateway.runtime.subjects.rotateKeys(systemContext(gateway));
    await run('after-a-rotation', '13800000071\n');
    expect((await listed('13800000071')).sources).toEqual(['after-a-rotation']);
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
