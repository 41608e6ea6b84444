import { cleanUpEnvironment, databaseKind, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess, type ChildProcess } from '../support/processes.ts';

/** N replicas must not give an attacker N times the guesses: counters live in the shared database. */
describe(`credential and request limits across two custos processes on ${databaseKind}`, () => {
  let env: Record<string, string>;
  const servers: Array<ChildProcess & { url: string }> = [];
  beforeAll(async () => {
    env = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', TOKEN_RATE_LIMIT_PER_MINUTE: '3', REQUESTS_RATE_LIMIT_PER_MINUTE: '4' };
    expect((await runCustos(['migrate'], { env })).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const started = await startProcess([CUSTOS_BIN, 'serve'], { env, ready: /"port":(\d+)/, keepOutput: false });
      servers.push({ ...started, url: `http://127.0.0.1:${started.match[1]}` });
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await cleanUpEnvironment(env);
  });

  it('counts failed secrets for one client on both processes together', async () => {
    const app = JSON.parse((await runCustos(['apps', 'create', '--name', 'Target', '--purposes', 'support', '--json'], { env })).stdout) as { clientId: string };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${servers[i % 2]!.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: `guess-${i}` }),
      });
      statuses.push(response.status);
    }
    // Three failures in all, whichever process took them; then both refuse.
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it('counts privacy-request submissions from one address on both processes together', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${servers[i % 2]!.url}/v1/privacy-requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'access', identifier: { email: `shared${i}@example.com` } }),
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 429, 429]);
  });
});
