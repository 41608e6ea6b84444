import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { dropSchema } from '../../test/support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess } from '../../test/support/processes.ts';
import { measure, type Figure } from './measure.ts';

const DAY = 86_400_000;

/** A CRM export of `count` customers, each with three consent events; a do-not-call flag for one in ten, a call an hour ago for one in three. */
function writeCustomers(file: string, count: number): void {
  const out = fs.openSync(file, 'w');
  const now = Date.now();
  let chunk: string[] = [];
  for (let i = 0; i < count; i++) {
    const iso = (ms: number) => new Date(ms).toISOString();
    chunk.push(
      JSON.stringify({
        id: `crm-${i}`,
        purpose: 'marketing',
        identifiers: { phone: `+86137${String(i).padStart(8, '0')}`, email: `crm.${i}@example.com` },
        attributes: { name: `Customer ${i}`, pets: ['cat'] },
        consents: [
          { purpose: 'marketing', grantedAt: iso(now - 900 * DAY - i * 1000), source: 'web-form', noticeVersion: '2023-03', channels: ['sms', 'email', 'call'] },
          { purpose: 'marketing', withdrawnAt: iso(now - 400 * DAY - i * 1000), topics: ['bird-food'], source: 'call-centre' },
          { purpose: 'marketing', grantedAt: iso(now - 100 * DAY - i * 1000), source: 'app', noticeVersion: '2025-01', channels: ['sms', 'call'] },
        ],
        ...(i % 10 === 0 ? { doNotCall: { since: iso(now - 50 * DAY), source: 'customer-request' } } : {}),
        ...(i % 3 === 0 ? { contacts: [{ channel: 'call', purpose: 'marketing', at: iso(now - 3_600_000) }] } : {}),
      }),
    );
    if (chunk.length === 10_000) {
      fs.writeSync(out, chunk.join('\n') + '\n');
      chunk = [];
    }
  }
  if (chunk.length > 0) fs.writeSync(out, chunk.join('\n') + '\n');
  fs.closeSync(out);
}

/** A fresh database for one measurement: its own data dir, key and (on PostgreSQL) schema. */
function freshEnvironment(base: Record<string, string>): Record<string, string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-bench-import-'));
  const env: Record<string, string> = { ...base, CUSTOS_DATA_DIR: dataDir, CUSTOS_MASTER_KEY: randomBytes(32).toString('base64') };
  if (base.DATABASE_URL) {
    const url = new URL(base.DATABASE_URL);
    url.searchParams.set('schema', `custos_bench_import_${randomBytes(4).toString('hex')}`);
    env.DATABASE_URL = url.toString();
  }
  return env;
}

async function cleanUp(env: Record<string, string>): Promise<void> {
  if (env.DATABASE_URL) await dropSchema(env.DATABASE_URL);
  fs.rmSync(env.CUSTOS_DATA_DIR!, { recursive: true, force: true });
}

const rssMb = (pid: number): number | undefined => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
};

/** Runs a CLI command to its end, sampling its RSS every 200 ms. */
function runSampled(
  args: string[],
  env: Record<string, string>,
  onSample?: () => Promise<void>,
): Promise<{ seconds: number; stdout: string; rssMaxMb: number; rss: Array<{ at: number; mb: number }>; code: number | null }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CUSTOS_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    let rssMaxMb = 0;
    const rss: Array<{ at: number; mb: number }> = [];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setInterval(() => {
      const mb = rssMb(child.pid!) ?? 0;
      rssMaxMb = Math.max(rssMaxMb, mb);
      rss.push({ at: Date.now() - started, mb });
      void onSample?.();
    }, 200);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) console.error(stderr);
      resolve({ seconds: (Date.now() - started) / 1000, stdout, rssMaxMb, rss, code });
    });
  });
}

/**
 * Importing a customer base beside `custos demo seed` of as many people in
 * the same run (each on a fresh database, both as CLI processes, so both pay
 * the same start-up): the time of each and their ratio, the import's RSS at
 * its highest, rows/s per quarter of the run, and, while it runs, the p99 of
 * a read the gateway serves on the same database beside the same read idle.
 */
export async function benchImports(base: Record<string, string>, rows: number, durationSeconds: number, options: { besideSeed: boolean }): Promise<void> {
  console.log(
    `\nImport: ${rows.toLocaleString('en')} customers, three consent events each (load average before: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  const seedEnv = freshEnvironment(base);
  const importEnv = freshEnvironment(base);
  const file = path.join(importEnv.CUSTOS_DATA_DIR!, 'customers.ndjson');
  writeCustomers(file, rows);
  try {
    for (const env of [seedEnv, importEnv]) await migrate(loadConfig(env).database);
    const seed = options.besideSeed ? await runSampled(['demo', 'seed', '--subjects', String(rows), '--json'], seedEnv) : undefined;
    if (seed) console.log(`custos demo seed of ${rows.toLocaleString('en')}: ${seed.seconds.toFixed(1)} s (RSS at most ${seed.rssMaxMb.toFixed(0)} MB)`);

    // A gateway on the import's database, with people to read while the import runs (seeded first).
    const demo = JSON.parse((await runCustos(['demo', 'seed', '--subjects', '1000', '--json'], { env: importEnv, timeoutMs: 120_000 })).stdout) as { clientId: string; clientSecret: string };
    const crm = JSON.parse((await runCustos(['apps', 'create', '--name', 'CRM', '--purposes', 'marketing,support', '--json'], { env: importEnv })).stdout) as { clientId: string };
    const gateway = await startProcess([CUSTOS_BIN, 'serve'], { env: { ...importEnv, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, ready: /"port":(\d+)/, keepOutput: false });
    try {
      const url = `http://127.0.0.1:${gateway.match[1]}`;
      const token = (
        (await (
          await fetch(`${url}/oauth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'client_credentials', client_id: demo.clientId, client_secret: demo.clientSecret }),
          })
        ).json()) as { access_token: string }
      ).access_token;
      const db = await openDatabase(loadConfig(importEnv).database);
      const refs = (await db.read.subjectRef.findMany({ where: { appId: demo.clientId }, select: { ref: true }, take: 500 })).map((r) => r.ref);
      const read = (name: string, seconds: number): Promise<Figure> =>
        measure(name, { url, paths: refs.map((ref) => `/v1/subjects/${ref}?purpose=support`), headers: { authorization: `Bearer ${token}` }, connections: 4, durationSeconds: seconds });
      const idle = await read('GET /v1/subjects/{ref}, 4 clients, no import running', durationSeconds);

      // Progress as the run itself records it (its committed line), read every 200 ms.
      const progress: Array<{ at: number; line: number }> = [];
      const started = Date.now();
      const sample = async () => {
        const [run] = await db.readRaw<{ line: unknown }>('SELECT committed_line AS "line" FROM import_run ORDER BY started_at DESC LIMIT 1');
        if (run) progress.push({ at: Date.now() - started, line: Number(run.line) });
      };
      const running = runSampled(['import', file, '--app', crm.clientId, '--json'], importEnv, sample);
      // The read measured during the import's first part (it must not end before the reads do).
      const during = await read('GET /v1/subjects/{ref}, 4 clients, during the import', Math.min(durationSeconds, Math.max(2, Math.floor(seed?.seconds ?? durationSeconds))));
      const imported = await running;
      const report = JSON.parse(imported.stdout) as { counts: Record<string, number>; status: string };
      await db.close();
      const quarterBounds = [1, 2, 3, 4].map((q) => [(imported.seconds * 1000 * (q - 1)) / 4, (imported.seconds * 1000 * q) / 4] as const);
      const lineAt = (t: number) => [...progress].reverse().find((p) => p.at <= t)?.line ?? 0;
      const quarters = quarterBounds.map(([begin, end]) => Math.round((lineAt(end) - lineAt(begin)) / ((end - begin) / 1000)));
      const rssQuarters = quarterBounds.map(([begin, end]) => Math.max(0, ...imported.rss.filter((r) => r.at > begin && r.at <= end).map((r) => r.mb)).toFixed(0));
      console.log(
        `custos import of ${rows.toLocaleString('en')}: ${imported.seconds.toFixed(1)} s, ${report.status} (${report.counts.created?.toLocaleString('en')} created, ${report.counts.consentEvents?.toLocaleString('en')} consent events), RSS at most ${imported.rssMaxMb.toFixed(0)} MB`,
      );
      if (seed) console.log(`  import / demo seed: ${(imported.seconds / seed.seconds).toFixed(2)}x`);
      console.log(`  rows/s per quarter of the run: ${quarters.map((q) => q.toLocaleString('en')).join(' / ')}; RSS at most, per quarter: ${rssQuarters.join(' / ')} MB`);
      console.log(`  read p99 idle ${idle.p99Ms} ms (${idle.requestsPerSecond} /s), during the import ${during.p99Ms} ms (${during.requestsPerSecond} /s, ${during.non2xx} non-2xx)`);
      console.log(
        `  load average after: ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      );
    } finally {
      await gateway.stop();
    }
  } finally {
    await cleanUp(seedEnv);
    await cleanUp(importEnv);
  }
}
