import { cleanUpEnvironment, databaseKind, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess, type ChildProcess } from '../support/processes.ts';

/**
 * `custos audit verify` beside a server that keeps writing: it verifies up to
 * the size it read first, so events appended meanwhile never make a healthy
 * log look broken (it used to compare a head read before paging with rows
 * read after, and reported BROKEN under token load).
 */
describe(`audit verify while a server writes (${databaseKind})`, () => {
  let env: Record<string, string>;
  let server: ChildProcess & { url: string };

  beforeAll(async () => {
    env = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', TOKEN_RATE_LIMIT_PER_MINUTE: '100000', AUDIT_TREE_HEAD_INTERVAL_MS: '200' };
    expect((await runCustos(['migrate'], { env })).code).toBe(0);
    const started = await startProcess([CUSTOS_BIN, 'serve'], { env: { ...env, LOG_LEVEL: 'info' }, ready: /"port":(\d+)/ });
    server = { ...started, url: `http://127.0.0.1:${started.match[1]}` };
  });
  afterAll(async () => {
    await server.stop();
    await cleanUpEnvironment(env);
  });

  it('reports an intact log three times in a row under token load', async () => {
    const app = JSON.parse((await runCustos(['apps', 'create', '--name', 'Load', '--purposes', 'support', '--json'], { env })).stdout) as { clientId: string; clientSecret: string };
    let loading = true;
    let issued = 0;
    const load = (async () => {
      while (loading) {
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            const response = await fetch(`${server.url}/oauth/token`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }),
            });
            if (response.status === 200) issued += 1;
          }),
        );
      }
    })();
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await runCustos(['audit', 'verify', '--json'], { env }));
    loading = false;
    await load;
    expect(issued).toBeGreaterThan(50);
    const reports = results.map((r) => ({ code: r.code, report: JSON.parse(r.stdout) as { ok: boolean; treeSize: number; firstBad?: unknown } }));
    expect(reports.map((r) => [r.code, r.report.ok, r.report.firstBad])).toEqual([
      [0, true, undefined],
      [0, true, undefined],
      [0, true, undefined],
    ]);
    // Each run verified a larger fixed point while the server kept appending.
    expect(reports[2]!.report.treeSize).toBeGreaterThan(reports[0]!.report.treeSize);
    // Three CLI processes start and verify beside the load: 21-23 s alone here, more beside the other suites.
  }, 90_000);
});
