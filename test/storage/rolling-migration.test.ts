import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { cleanUpEnvironment, databaseKind, REPO_ROOT, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess, type ChildProcess } from '../support/processes.ts';

/**
 * A release's migration is applied while the replicas of the release before
 * it still serve (expand first, roll the replicas after). Custos's migrations
 * only add (tables, nullable columns, indexes), its statements name their
 * columns (so PostgreSQL re-plans a kept prepared statement instead of failing
 * it), and each migration holds its locks for one short transaction: no
 * request may fail while one runs. Stood in for here by an added migration
 * that alters the tables the requests under load use.
 */
const ADDITIVE = `ALTER TABLE subject_ref ADD COLUMN rolling_note TEXT;
CREATE INDEX subject_ref_rolling_note ON subject_ref (rolling_note);
ALTER TABLE consent_state ADD COLUMN rolling_note TEXT;
ALTER TABLE audit_event ADD COLUMN rolling_note TEXT;
`;

describe(`a migration applied while two replicas serve on ${databaseKind}`, () => {
  let env: Record<string, string>;
  let root: string;
  const servers: Array<ChildProcess & { url: string }> = [];

  beforeAll(async () => {
    env = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', TOKEN_RATE_LIMIT_PER_MINUTE: '1000' };
    expect((await runCustos(['migrate'], { env })).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const started = await startProcess([CUSTOS_BIN, 'serve'], { env: { ...env, LOG_LEVEL: 'info' }, ready: /"port":(\d+)/ });
      servers.push({ ...started, url: `http://127.0.0.1:${started.match[1]}` });
    }
    // This build's migrations plus the next release's.
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-migrations-'));
    const kind = databaseKind === 'postgresql' ? 'postgresql' : 'sqlite';
    fs.cpSync(path.join(REPO_ROOT, 'prisma', 'migrations', kind), path.join(root, kind), { recursive: true });
    fs.writeFileSync(path.join(root, kind, '9001_next_release.sql'), ADDITIVE);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    fs.rmSync(root, { recursive: true, force: true });
    await cleanUpEnvironment(env);
  });

  it('answers every request while the migration runs, and after it', async () => {
    const created = JSON.parse((await runCustos(['apps', 'create', '--name', 'Rolling', '--purposes', 'support,marketing', '--json'], { env })).stdout) as { clientId: string; clientSecret: string };
    const token = (
      (await (
        await fetch(`${servers[0]!.url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret }),
        })
      ).json()) as { access_token: string }
    ).access_token;
    const call = (server: number, method: string, route: string, body?: unknown) =>
      fetch(`${servers[server % 2]!.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const refs: string[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await call(i, 'POST', '/v1/subjects', { purpose: 'support', identifiers: { email: `rolling.${i}@example.com` }, attributes: { name: `Rolling ${i}` } });
      refs.push(((await response.json()) as { ref: string }).ref);
    }

    // Reads, consent writes and new subjects on both replicas, until told to stop.
    const failures: string[] = [];
    let answered = 0;
    let loading = true;
    const worker = async (w: number) => {
      for (let i = 0; loading; i++) {
        const ref = refs[(w + i) % refs.length]!;
        const kind = i % 3;
        const response =
          kind === 0
            ? await call(w + i, 'GET', `/v1/subjects/${ref}?purpose=support`)
            : kind === 1
              ? await call(w + i, 'PUT', `/v1/subjects/${ref}/consents/marketing`, { source: 'web-form', noticeVersion: `n${i}` })
              : await call(w + i, 'POST', '/v1/subjects', { purpose: 'support', identifiers: { email: `rolling.${w}.${i}@example.com` }, attributes: { name: 'Under load' } });
        answered++;
        if (response.status >= 300) failures.push(`${response.status} ${await response.text()}`);
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    const waitFor = async (count: number) => {
      while (answered < count) await new Promise((resolve) => setTimeout(resolve, 10));
    };

    await waitFor(100);
    const report = await migrate(loadConfig(env).database, { root });
    expect(report.applied).toEqual(['9001_next_release']);
    // The statements kept prepared before the change still run after it.
    const afterMigration = answered;
    await waitFor(afterMigration + 200);
    loading = false;
    await Promise.all(workers);

    expect(failures).toEqual([]);
    for (const server of servers) expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    // This build is now the older one: the replicas that run keep serving, but a new start of it
    // refuses the newer schema instead of guessing what changed (roll the replicas forward).
    const restart = await runCustos(['apps', 'list'], { env });
    expect(restart.code).toBe(1);
    expect(restart.stderr).toContain('migration 9001_next_release is recorded in the database but its file is missing; this build is older than the database');
  });
});
