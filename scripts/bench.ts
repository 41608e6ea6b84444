// npm run bench: throughput and latency of Custos routes beside a bare Express 5 +
// helmet endpoint measured in the same run on the same machine. Each server runs
// in its own process; the load generator runs here. Set DATABASE_URL to measure
// Custos on PostgreSQL instead of the embedded database.
//   BENCH_DURATION=10 BENCH_CONNECTIONS=50 npm run bench
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dropSchema } from '../test/support/gateway.ts';
import { startProcess, runCustos, type ChildProcess } from '../test/support/processes.ts';
import { measure, printTable, type Figure } from './bench/measure.ts';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const root = path.join(__dirname, '..');

/** A throw-away schema, so a benchmark never touches real data and leaves nothing behind. */
function benchSchemaUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', `custos_bench_${randomBytes(4).toString('hex')}`);
  return url.toString();
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-bench-'));
  const env: Record<string, string> = {
    CUSTOS_DATA_DIR: dataDir,
    POLICY_DIR: path.join(root, 'policies'),
    CUSTOS_MASTER_KEY: randomBytes(32).toString('base64'),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: benchSchemaUrl(process.env.DATABASE_URL) } : {}),
  };
  const processes: ChildProcess[] = [];
  try {
    if (env.DATABASE_URL) await runCustos(['migrate'], { env });
    const baselineServer = await startProcess(['--require', 'tsx/cjs', path.join(__dirname, 'bench', 'baseline-server.ts')], { ready: /"port":(\d+)/ });
    processes.push(baselineServer);
    const custos = await startProcess([path.join(root, 'bin', 'custos'), 'serve'], { env: { ...env, LOG_LEVEL: 'info' }, ready: /"port":(\d+)/ });
    processes.push(custos);
    const custosUrl = `http://127.0.0.1:${custos.match[1]}`;

    const created = await runCustos(['apps', 'create', '--name', 'Bench', '--purposes', 'marketing,support', '--json'], { env });
    const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };
    const tokenResponse = await fetch(`${custosUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

    console.log(`Custos benchmark: ${os.cpus().length} CPUs, ${connections} connections, ${duration}s per scenario, database ${env.DATABASE_URL ? 'postgresql' : 'embedded (SQLite)'}`);
    const baseline = await measure('bare Express 5 + helmet (baseline)', { url: `http://127.0.0.1:${baselineServer.match[1]}/baseline`, connections, durationSeconds: duration });
    const figures: Figure[] = [
      await measure('GET /v1/purposes (JWT verified, app checked)', { url: `${custosUrl}/v1/purposes`, headers: { authorization: `Bearer ${token}` }, connections, durationSeconds: duration }),
      await measure('GET /healthz (Custos middleware only)', { url: `${custosUrl}/healthz`, connections, durationSeconds: duration }),
    ];
    printTable(baseline, figures);
    if (figures.some((f) => f.errors > 0 || f.non2xx > 0)) {
      console.error('Some requests failed; the figures above are not comparable.');
      process.exitCode = 1;
    }
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (env.DATABASE_URL) await dropSchema(env.DATABASE_URL);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
