import path from 'node:path';
import { cleanUpEnvironment, databaseKind, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess, type ChildProcess } from '../support/processes.ts';

/** The cap holds across replicas: two gateway processes, one database, one subject, 500 requests at once. */
describe(`frequency caps across two custos processes on ${databaseKind}`, () => {
  let env: Record<string, string>;
  const servers: Array<ChildProcess & { url: string }> = [];

  beforeAll(async () => {
    env = { ...testEnvironment({ POLICY_DIR: path.join(__dirname, 'policy') }), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', TOKEN_RATE_LIMIT_PER_MINUTE: '1000' };
    expect((await runCustos(['migrate'], { env })).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const started = await startProcess([CUSTOS_BIN, 'serve'], { env: { ...env, LOG_LEVEL: 'info' }, ready: /"port":(\d+)/ });
      servers.push({ ...started, url: `http://127.0.0.1:${started.match[1]}` });
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await cleanUpEnvironment(env);
  });

  it('allows exactly 3 of 500 concurrent authorizations split over both processes', async () => {
    const created = JSON.parse((await runCustos(['apps', 'create', '--name', 'Campaigns', '--purposes', 'survey', '--json'], { env })).stdout) as { clientId: string; clientSecret: string };
    const tokenResponse = await fetch(`${servers[0]!.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret }),
    });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const written = await fetch(`${servers[0]!.url}/v1/subjects`, { method: 'POST', headers, body: JSON.stringify({ purpose: 'survey', identifiers: { phone: '13900139555' } }) });
    const { ref } = (await written.json()) as { ref: string };

    const answers = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const response = await fetch(`${servers[i % 2]!.url}/v1/contacts/authorize`, { method: 'POST', headers, body: JSON.stringify({ ref, channel: 'sms', purpose: 'survey' }) });
        return { status: response.status, body: (await response.json()) as { decision: string } };
      }),
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.filter((a) => a.body.decision === 'allow')).toHaveLength(3);

    const verified = await runCustos(['audit', 'verify', '--json'], { env });
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
  });
});
