import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createCustosClient, CustosProblem } from '../../clients/typescript/src/index.ts';
import { zoneWhereItIs } from '../contacts/zones.ts';
import { createTestApp, startTestGateway, type TestGateway } from '../support/gateway.ts';

const CLIENT = path.resolve('clients/typescript');

/**
 * The TypeScript client (clients/typescript, @custos/client) against a live
 * gateway: its types are the served document's, its tokens are cached, its
 * retries never take a second slot, its errors are typed, and the package
 * builds and runs as the ES module it is published as.
 */
describe('the TypeScript client', () => {
  let gateway: TestGateway;
  let server: http.Server;
  let baseUrl: string;
  let credentials: { clientId: string; clientSecret: string };

  /** The global fetch, with a log of what was sent, and a hook that may drop an answer after the request reached the gateway. */
  const sent: string[] = [];
  let loseNextAnswerTo: string | undefined;
  const recordingFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    sent.push(`${request.method} ${new URL(request.url).pathname}`);
    const response = await fetch(request);
    if (loseNextAnswerTo && new URL(request.url).pathname === loseNextAnswerTo) {
      loseNextAnswerTo = undefined;
      await response.arrayBuffer();
      throw new TypeError('fetch failed (the test dropped the answer)');
    }
    return response;
  };

  beforeAll(async () => {
    gateway = await startTestGateway();
    server = http.createServer(gateway.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    credentials = await createTestApp(gateway, ['marketing', 'support'], ['sms']);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await gateway?.close();
  });

  it('its committed types are those of the document the gateway serves (npm run generate)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-client-'));
    fs.writeFileSync(path.join(dir, 'openapi.json'), await (await fetch(`${baseUrl}/openapi.json`)).text());
    const generated = spawnSync(
      process.execPath,
      [path.resolve('node_modules/openapi-typescript/bin/cli.js'), path.join(dir, 'openapi.json'), '-o', path.join(dir, 'schema.d.ts'), '--default-non-nullable', 'false'],
      {
        encoding: 'utf8',
      },
    );
    expect(generated.status).toBe(0);
    const fresh = fs.readFileSync(path.join(dir, 'schema.d.ts'), 'utf8');
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fresh === fs.readFileSync(path.join(CLIENT, 'src/schema.d.ts'), 'utf8')).toBe(true);
  });

  it('asks for one token for many calls at once, and throws typed problems', async () => {
    const custos = createCustosClient({ baseUrl, ...credentials, fetch: recordingFetch });
    sent.length = 0;
    const written = await custos.writeSubject({ purpose: 'support', identifiers: { phone: '13900150001' }, timezone: zoneWhereItIs(12) });
    expect(written).toMatchObject({ ref: expect.stringMatching(/^ref_/), created: true });
    const reads = await Promise.all(Array.from({ length: 20 }, () => custos.readSubject(written.ref, 'support')));
    expect(reads.every((r) => r.ref === written.ref)).toBe(true);
    expect(sent.filter((s) => s === 'POST /oauth/token')).toHaveLength(1);

    const refused = await custos.writeSubject({ purpose: 'support', identifiers: { phone: '13900150002' }, attributes: { pets: ['cat'] } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CustosProblem);
    expect({ status: (refused as CustosProblem).status, code: (refused as CustosProblem).code }).toEqual({ status: 422, code: 'policy-violation' });
  });

  it('retries an authorization whose answer was lost with the same Idempotency-Key: the first answer, and one slot only', async () => {
    const custos = createCustosClient({ baseUrl, ...credentials, fetch: recordingFetch });
    const { ref } = await custos.writeSubject({ purpose: 'marketing', identifiers: { phone: '13900150003' }, timezone: zoneWhereItIs(12) });
    await custos.grantConsent(ref, 'marketing', { source: 'client-test', noticeVersion: 'n1' });
    sent.length = 0;
    loseNextAnswerTo = '/v1/contacts/authorize';
    const answer = await custos.authorize({ ref, channel: 'sms', purpose: 'marketing', topic: 'cat-food' });
    expect(sent.filter((s) => s === 'POST /v1/contacts/authorize')).toHaveLength(2);
    expect(answer.decision).toBe('allow');
    const subject = await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } });
    expect(await gateway.runtime.db.read.contactReservation.count({ where: { subjectId: subject.subjectId } })).toBe(1);
    if (answer.decision === 'allow') expect((await custos.reveal(answer.ticket)).value).toBe('+8613900150003');
  });

  it('reads a suppression list as it streams, to its completion line', async () => {
    const custos = createCustosClient({ baseUrl, ...credentials });
    const lines = [];
    for await (const line of custos.suppressions({ channel: 'sms', purpose: 'marketing' })) lines.push(line);
    expect(lines.at(-1)).toMatchObject({ complete: true });
    expect(lines.length).toBeGreaterThan(1);
  });

  it('builds (npm run build) and runs as the ES module it is published as', async () => {
    const out = fs.mkdtempSync(path.join(CLIENT, '.test-dist-'));
    try {
      const built = spawnSync(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', path.join(CLIENT, 'tsconfig.json'), '--outDir', out], { encoding: 'utf8' });
      expect(built.stdout + built.stderr).toBe('');
      const script = `import { createCustosClient } from ${JSON.stringify(path.join(out, 'index.js'))};
        const custos = createCustosClient({ baseUrl: process.env.URL, clientId: process.env.ID, clientSecret: process.env.SECRET });
        const { ref } = await custos.writeSubject({ purpose: 'support', identifiers: { phone: '13900150009' } });
        console.log(JSON.stringify(await custos.readSubject(ref, 'support')));`;
      // Not spawnSync: the gateway it calls runs in this process.
      const ran = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, URL: baseUrl, ID: credentials.clientId, SECRET: credentials.clientSecret },
      });
      expect(ran.stderr).toBe('');
      expect(JSON.parse(ran.stdout)).toMatchObject({ ref: expect.stringMatching(/^ref_/), purpose: 'support' });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
