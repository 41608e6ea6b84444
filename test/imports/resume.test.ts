import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { cleanUpEnvironment, databaseKind, REPO_ROOT, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos } from '../support/processes.ts';

const ROWS = 3000;

/** People with three consent events each and a recent call for every third, as a CRM export. */
function file(dir: string): string {
  const now = Date.now();
  const lines = Array.from({ length: ROWS }, (_, i) =>
    JSON.stringify({
      id: `crm-${i}`,
      purpose: 'marketing',
      identifiers: { phone: `+86135${String(i).padStart(8, '0')}` },
      consents: [
        { purpose: 'marketing', grantedAt: new Date(now - 900 * 86_400_000).toISOString(), source: 'web-form', noticeVersion: 'v1' },
        { purpose: 'marketing', withdrawnAt: new Date(now - 400 * 86_400_000).toISOString(), topics: ['bird-food'], source: 'call-centre' },
        { purpose: 'marketing', grantedAt: new Date(now - 100 * 86_400_000).toISOString(), source: 'app', noticeVersion: 'v2' },
      ],
      ...(i % 3 === 0 ? { contacts: [{ channel: 'call', purpose: 'marketing', at: new Date(now - 3_600_000).toISOString() }] } : {}),
    }),
  );
  const out = path.join(dir, 'customers.ndjson');
  fs.writeFileSync(out, lines.join('\n') + '\n');
  return out;
}

describe(`an import killed with SIGKILL on ${databaseKind}`, () => {
  let env: Record<string, string>;
  let db: Database;
  beforeAll(async () => {
    env = testEnvironment();
    const config = loadConfig(env);
    await migrate(config.database);
    db = await openDatabase(config.database);
  });
  afterAll(async () => {
    await db.close();
    await cleanUpEnvironment(env);
  });

  const count = async (table: string) => Number((await db.readRaw<{ n: unknown }>(`SELECT COUNT(*) AS "n" FROM ${table}`))[0]!.n);

  it('resumes with --resume from where it committed: no row half-written, none applied twice', async () => {
    const app = JSON.parse((await runCustos(['apps', 'create', '--name', 'CRM', '--purposes', 'marketing', '--json'], { env })).stdout) as { clientId: string };
    const customers = file(env.CUSTOS_DATA_DIR!);
    const child = spawn(process.execPath, [CUSTOS_BIN, 'import', customers, '--app', app.clientId, '--json'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // Killed once some batches committed and before the last: waits on the run's own progress, not on time.
    let committed = 0;
    while (committed === 0) {
      const [run] = await db.readRaw<{ line: unknown }>('SELECT committed_line AS "line" FROM import_run');
      committed = run ? Number(run.line) : 0;
      if (child.exitCode !== null) throw new Error('the import ended before it could be killed');
    }
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    const [killed] = await db.readRaw<{ line: unknown; status: string }>('SELECT committed_line AS "line", status FROM import_run');
    const linesAtKill = Number(killed!.line);
    expect(killed!.status).toBe('running');
    expect(linesAtKill).toBeGreaterThan(0);
    expect(linesAtKill).toBeLessThan(ROWS);
    // Whole batches only: what the run says it committed is exactly what is there.
    expect(await count('subject')).toBe(linesAtKill);
    expect(await count('consent_event')).toBe(3 * linesAtKill);
    expect(await count('import_ref')).toBe(linesAtKill);

    const resumed = await runCustos(['import', customers, '--app', app.clientId, '--resume', '--json'], { env, timeoutMs: 120_000 });
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as { status: string; counts: Record<string, number>; refs: unknown[] };
    expect(report.status).toBe('completed');
    expect(report.counts).toMatchObject({ created: ROWS, refused: 0, consentEvents: 3 * ROWS, contacts: ROWS / 3 });
    expect(report.refs).toHaveLength(ROWS);
    expect(await count('subject')).toBe(ROWS);
    expect(await count('consent_event')).toBe(3 * ROWS);
    expect(await count('contact_reservation')).toBe(ROWS / 3);
    expect(await count('import_ref')).toBe(ROWS);
    // One event per person written, across both processes.
    expect(Number((await db.readRaw<{ n: unknown }>(`SELECT COUNT(*) AS "n" FROM audit_event WHERE action = 'subjects.subject.import'`))[0]!.n)).toBe(ROWS);

    // Nothing is left to resume, and a file that is not the one committed is refused whole (exit code 2).
    const again = await runCustos(['import', customers, '--app', app.clientId, '--resume'], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no import to resume/);
  }, 180_000);

  it('exits with code 2 and writes nothing for a file that is not NDJSON', async () => {
    const app = JSON.parse((await runCustos(['apps', 'create', '--name', 'CRM 2', '--purposes', 'marketing', '--json'], { env })).stdout) as { clientId: string };
    const bad = path.join(env.CUSTOS_DATA_DIR!, 'bad.ndjson');
    fs.writeFileSync(bad, '{"id":"a","purpose":"marketing","identifiers":{"phone":"+8613500000001"}}\nname,phone\n');
    const before = await count('import_run');
    const result = await runCustos(['import', bad, '--app', app.clientId], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/line 2: is not JSON/);
    expect(await count('import_run')).toBe(before);
  });
});
