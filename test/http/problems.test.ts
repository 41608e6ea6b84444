import express from 'express';
import request from 'supertest';
import { createLogger } from '../../src/logger.ts';
import { problemHandler } from '../../src/http/problem.ts';
import { requestObservability, createMetrics } from '../../src/http/observability.ts';
import { Writable } from 'node:stream';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

function expectProblem(response: request.Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: `urn:custos:problem:${code}`, status, title: expect.any(String), requestId: expect.any(String) });
  expect(response.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

describe('errors are RFC 9457 problem+json everywhere', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ BODY_LIMIT: '2kb' });
  });
  afterAll(() => gateway.close());

  it('answers an unknown route with 404 not-found', async () => {
    expectProblem(await request(gateway.app).get('/v1/nothing-here'), 404, 'not-found');
  });

  it('answers malformed JSON with 400 malformed-body', async () => {
    expectProblem(await request(gateway.app).post('/v1/officers/session').set('Content-Type', 'application/json').send('{"username": "a",'), 400, 'malformed-body');
  });

  it('answers a bare JSON string (not an object) with 400', async () => {
    expectProblem(await request(gateway.app).post('/v1/officers/session').set('Content-Type', 'application/json').send('"just a string"'), 400, 'malformed-body');
  });

  it('answers a non-JSON content type with 415', async () => {
    expectProblem(await request(gateway.app).post('/v1/officers/session').set('Content-Type', 'text/plain').send('username=a&password=b'), 415, 'unsupported-media-type');
  });

  it('answers an oversize body with 413 before reading it all', async () => {
    const big = JSON.stringify({ username: 'a', password: 'x'.repeat(10_000) });
    expectProblem(await request(gateway.app).post('/v1/officers/session').set('Content-Type', 'application/json').send(big), 413, 'payload-too-large');
    const bigForm = `grant_type=client_credentials&client_secret=${'x'.repeat(10_000)}`;
    const token = await request(gateway.app).post('/oauth/token').set('Content-Type', 'application/x-www-form-urlencoded').send(bigForm);
    expect(token.status).toBe(413);
  });

  it('lists every validation problem with its path', async () => {
    const response = await request(gateway.app).post('/v1/officers/session').send({ username: '', password: 7 });
    expectProblem(response, 400, 'validation-failed');
    expect(response.body.errors).toEqual([
      { path: 'username', message: expect.stringMatching(/>=1|at least 1|too small/i) },
      { path: 'password', message: expect.stringMatching(/expected string/i) },
    ]);
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await request(gateway.app).get('/nope').set('X-Request-Id', 'trace-123.abc');
    expect(kept.headers['x-request-id']).toBe('trace-123.abc');
    expect(kept.body.requestId).toBe('trace-123.abc');
    const replaced = await request(gateway.app).get('/nope').set('X-Request-Id', 'bad id with spaces <script>');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('an unexpected error', () => {
  it('becomes a 500 problem without its message or stack, and is logged without its message', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const app = express();
    app.use(requestObservability(logger, createMetrics()));
    app.get('/boom', () => {
      throw new Error('secret value 13800138000 leaked into a message');
    });
    app.use(problemHandler(logger));
    const response = await request(app).get('/boom');
    expectProblem(response, 500, 'internal-error');
    expect(response.text).not.toContain('13800138000');
    expect(lines.join('')).toContain('"errorName":"Error"');
    expect(lines.join('')).not.toContain('13800138000');
  });
});

describe('a known path with the wrong method', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  it('answers 405 with Allow instead of 404', async () => {
    const response = await request(gateway.app).get('/oauth/token');
    expectProblem(response, 405, 'method-not-allowed');
    expect(response.headers.allow).toBe('POST');
    expect((await request(gateway.app).delete('/v1/purposes')).headers.allow).toBe('GET, HEAD');
  });

  it('routes by path the way Express does (letter case, trailing slash) although each module is entered only on its own paths', async () => {
    // Without a token: reaching the route is what counts (401), as opposed to falling through to 404.
    for (const path of ['/v1/purposes', '/V1/Purposes', '/v1/purposes/', '/v1/subjects/ref_x', '/v1/subjects/ref_x/consents', '/v1/contacts/authorize']) {
      const response = await request(gateway.app)[path.endsWith('authorize') ? 'post' : 'get'](path);
      expect([path, response.status]).toEqual([path, 401]);
    }
    expectProblem(await request(gateway.app).get('/v1/subjectsx'), 404, 'not-found');
  });
});
