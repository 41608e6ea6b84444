import zlib from 'node:zlib';
import http, { type Server } from 'node:http';
import { answerClientError } from '../../src/server.ts';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, inspectJson } from '../../src/http/json-inspection.ts';
import { appToken, auditEvents, createTestApp, createTestOfficer, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

/** Bodies and URLs an attacker sends: every one answers a clear 4xx problem+json, never a 500. */
describe('hostile input', () => {
  let gateway: TestGateway;
  let token: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    token = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support']));
    server = http.createServer(gateway.app).on('clientError', answerClientError).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await gateway.close();
  });

  type Answer = { status: number; headers: Record<string, string>; body: unknown };
  const expectProblem = (response: Answer, status: number, pathOrText?: string) => {
    expect({ status: response.status, type: response.headers['content-type'] }).toEqual({ status, type: expect.stringContaining('application/problem+json') });
    if (pathOrText) expect(JSON.stringify(response.body)).toContain(pathOrText);
    expect(JSON.stringify(response.body)).not.toMatch(/at \S+ \(|node_modules/);
  };
  /** Raw bytes over a real socket (supertest would re-encode a Buffer made in another realm as JSON). */
  const send = async (path: string, raw: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof raw === 'string' ? raw : new Uint8Array(raw) });
    const text = await response.text();
    return { status: response.status, headers: Object.fromEntries(response.headers), body: text.startsWith('{') ? JSON.parse(text) : text };
  };

  it('refuses JSON nested deeper than the limit on every route, signed in or not, before any route logic', async () => {
    const arrays = '['.repeat(5000) + ']'.repeat(5000);
    const objects = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    for (const path of ['/v1/officers/session', '/v1/subjects', '/v1/contacts/scrub', '/v1/privacy-requests', '/no/such/route']) {
      for (const body of [arrays, objects]) expectProblem(await send(path, body, { Authorization: `Bearer ${token}` }), 400, `deeper than ${MAX_JSON_DEPTH}`);
    }
    const justDeepEnough = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(inspectJson(Buffer.from(justDeepEnough))).toBeUndefined();
    expect(inspectJson(Buffer.from('[' + justDeepEnough + ']'))).toMatchObject({ message: expect.stringContaining('deeper') });
  });

  it('answers an anonymous scrub with 401 before reading its body, and refuses a body of too many nodes before parsing it', async () => {
    // Headers that announce 8 MB, then only the first bytes: the 401 comes while the body is still unsent.
    const early = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(`${base}/v1/contacts/scrub`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': String(8 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, connection: res.headers.connection });
        req.destroy();
      });
      req.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
      req.write('['.repeat(1024));
    });
    expect(early).toEqual({ status: 401, connection: 'close' });
    // Signed in: 64,000 arrays 60 deep is within the depth limit, and refused by its count before any parsing.
    const hostile = `[${Array.from({ length: 64_000 }, () => '['.repeat(59) + ']'.repeat(59)).join(',')}]`;
    expect(hostile.length).toBeGreaterThan(7 * 1024 * 1024);
    expectProblem(await send('/v1/contacts/scrub', hostile, { Authorization: `Bearer ${token}` }), 400, `more than ${MAX_JSON_CONTAINERS} objects and arrays`);
    // A real campaign, 100,000 refs, is far from it.
    expect(inspectJson(Buffer.from(JSON.stringify({ channel: 'sms', purpose: 'marketing', refs: Array.from({ length: 100_000 }, (_, i) => `ref_${i}`) })))).toBeUndefined();
  });

  it('refuses a key sent twice in one object, naming it, however it is escaped', async () => {
    const twice = await send('/v1/subjects', '{"purpose":"support","identifiers":{"phone":"13800138000","phone":"13900139000"}}', { Authorization: `Bearer ${token}` });
    expectProblem(twice, 400, 'identifiers.phone');
    expectProblem(await send('/v1/officers/session', '{"username":"a","\\u0075sername":"b","password":"x"}'), 400, 'username');
    // The same key in two different objects is fine.
    expect(inspectJson(Buffer.from('[{"a":1},{"a":2}]'))).toBeUndefined();
    expect(inspectJson(Buffer.from('{"a":{"a":{"a":1}}}'))).toBeUndefined();
  });

  it('refuses reserved keys, NUL characters, half surrogate pairs and bytes that are not UTF-8', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    expectProblem(await send('/v1/subjects', '{"purpose":"support","identifiers":{"__proto__":"x"}}', auth), 400, 'identifiers.__proto__');
    for (const value of ['SUR2-\\u0000', 'SUR2-\\ud800', 'SUR2-\\udc00', 'SUR2-\\ud800x']) {
      expectProblem(await send('/v1/subjects', `{"purpose":"support","identifiers":{"memberCard":"${value}"}}`, auth), 400, 'identifiers.memberCard');
    }
    expectProblem(await send('/v1/subjects', Buffer.concat([Buffer.from('{"purpose":"support","identifiers":{"memberCard":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]), auth), 400, 'UTF-8');
    // A whole pair and a real replacement character are ordinary text, and distinct people.
    const pair = await send('/v1/subjects', '{"purpose":"support","identifiers":{"memberCard":"SUR2-\\ud83d\\ude00"}}', auth);
    const replacement = await send('/v1/subjects', '{"purpose":"support","identifiers":{"memberCard":"SUR2-\\ufffd"}}', auth);
    expect([pair.status, replacement.status]).toEqual([201, 201]);
    expect((pair.body as { ref: string }).ref).not.toBe((replacement.body as { ref: string }).ref);
  });

  it('answers malformed percent-escapes and NUL in the URL with 400', async () => {
    for (const path of ['/v1/subjects/%ff', '/v1/subjects/%E0%A4%A', '/v1/subjects/lookup?purpose=support&phone=%ff', '/v1/subjects/lookup?purpose=support&phone=%ED%A0%80', '/v1/subjects/a%00b']) {
      expectProblem(await request(gateway.app).get(path).set('Authorization', `Bearer ${token}`), 400, '(url)');
    }
  });

  it('accepts compressed bodies, refuses ones that do not match their Content-Encoding, and counts the inflated size', async () => {
    const body = JSON.stringify({ username: 'nobody', password: 'wrong password' });
    const compressors = [
      ['gzip', zlib.gzipSync],
      ['deflate', zlib.deflateSync],
      ['br', zlib.brotliCompressSync],
    ] as const;
    for (const [encoding, compress] of compressors) {
      const ok = await send('/v1/officers/session', compress(Buffer.from(body)) as Buffer, { 'Content-Encoding': encoding });
      expect(ok.status).toBe(401);
      expectProblem(await send('/v1/officers/session', Buffer.from(body), { 'Content-Encoding': encoding }), 400, 'Content-Encoding');
    }
    const bomb = zlib.gzipSync(Buffer.from(`{"username":"${'a'.repeat(20 * 1024 * 1024)}"}`));
    expect(bomb.length).toBeLessThan(100_000);
    expectProblem(await send('/v1/officers/session', bomb, { 'Content-Encoding': 'gzip' }), 413);
  });

  it('answers headers too large for the server with a problem+json 431', async () => {
    const response = await fetch(`${base}/v1/purposes`, { headers: { Authorization: `Bearer ${'a'.repeat(17 * 1024)}` } });
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: 'urn:custos:problem:headers-too-large', status: 431 });
  });

  it('keeps caller text that names nothing the policy knows out of the audit trail, and stores do-not-call notes encrypted', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const canary = '13912345678';
    await request(gateway.app)
      .post('/v1/subjects')
      .set(auth)
      .send({ purpose: canary, identifiers: { [canary]: 'x' }, attributes: { [`${canary}-note`]: 'y' } });
    await request(gateway.app)
      .post('/v1/contacts/authorize')
      .set(auth)
      .send({ ref: `ref_${'A'.repeat(22)}`, channel: 'sms', purpose: canary });
    const agent = await createTestOfficer(gateway, 'admin');
    const officer = await officerToken(gateway, agent.username, agent.password);
    await request(gateway.app).get('/v1/audit/events').query({ purpose: canary, app: canary }).set('Authorization', `Bearer ${officer}`);
    const note = 'Mrs Canary asked on 2026-11-23 not to be called';
    expect((await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: '13912345679', note })).status).toBe(201);
    await gateway.runtime.auditIntegrator.flush();
    const trail = JSON.stringify(await auditEvents(gateway));
    expect(trail).not.toContain(canary);
    expect(trail).toMatch(/unknown:[0-9a-f]{6}/);
    const stored = JSON.stringify(await gateway.runtime.db.read.dncEntry.findMany());
    expect(stored).not.toContain('Canary');
  });
});
