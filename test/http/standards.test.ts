import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as oauth from 'openid-client';
import request from 'supertest';
import { createTestApp, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * What third-party tools say of Custos's standards: Redocly's linter of the
 * served OpenAPI document, Prometheus's own checker of /metrics, and an
 * OAuth client library (openid-client) that finds the token endpoint through
 * RFC 8414 metadata alone.
 */

const REDOCLY = path.resolve('node_modules/@redocly/cli/bin/cli.js');
const promtool = spawnSync('promtool', ['--version']).status === 0;

async function listening(app: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A free port now, so the gateway can be told its own address (its token issuer) before it listens there. */
async function freePort(): Promise<number> {
  const probe = await listening(() => undefined);
  await probe.close();
  return Number(new URL(probe.url).port);
}

describe('standards, as third-party tools check them', () => {
  let gateway: TestGateway;
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await startTestGateway({ CUSTOS_PUBLIC_URL: base });
    server = http.createServer(gateway.app);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await gateway?.close();
  });

  it('the served OpenAPI document passes Redocly lint (recommended rules) with no errors and no warnings', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-openapi-'));
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify((await request(gateway.app).get('/openapi.json')).body));
    const linted = spawnSync(process.execPath, [REDOCLY, 'lint', file, '--config', path.resolve('test/http/redocly.yaml'), '--format', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    fs.rmSync(dir, { recursive: true, force: true });
    const report = JSON.parse(linted.stdout.slice(linted.stdout.indexOf('{'))) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 60_000);

  it('every operation has an operationId, public ones declare their credentials, and policy terms are enums of the loaded policy', async () => {
    const document = (await request(gateway.app).get('/openapi.json')).body;
    const operations = Object.entries(document.paths as Record<string, Record<string, { operationId?: string; security?: unknown[] }>>).flatMap(([p, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ at: `${method.toUpperCase()} ${p}`, ...op })),
    );
    expect(operations.filter((op) => !op.operationId).map((op) => op.at)).toEqual([]);
    expect(new Set(operations.map((op) => op.operationId)).size).toBe(operations.length);
    const security = (at: string) => operations.find((op) => op.at === at)?.security;
    expect(security('GET /healthz')).toEqual([]);
    expect(security('GET /v1/privacy-requests/{id}/export')).toEqual([{ statusToken: [] }]);
    expect(security('GET /v1/privacy-requests/{id}')).toEqual([{ statusToken: [] }, { officerToken: [] }]);
    expect(security('POST /v1/privacy-requests/{id}/verify')).toEqual([{}, { statusToken: [] }]);
    const authorize = document.components.schemas.ContactAuthorizeRequest.properties;
    expect({ purpose: authorize.purpose.enum, channel: authorize.channel.enum }).toEqual({
      purpose: Object.keys(gateway.runtime.loaded.policy.purposes),
      channel: gateway.runtime.loaded.policy.channels,
    });
    const inclusion = document.paths['/v1/audit/proofs/inclusion'].get.parameters as Array<{ name: string; schema: { type: string } }>;
    expect(inclusion.map((p) => [p.name, p.schema.type])).toEqual([
      ['index', 'integer'],
      ['treeSize', 'integer'],
    ]);
    expect(Object.keys(document.paths['/v1/audit/events'].get.responses['200'].content)).toEqual(['application/json', 'application/x-ndjson', 'text/csv; charset=utf-8']);
  });

  (promtool ? it : it.skip)('/metrics passes promtool check metrics', async () => {
    await request(gateway.app).get('/healthz');
    const exposition = (await request(gateway.app).get('/metrics')).text;
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    expect({ status: checked.status, said: `${checked.stdout}${checked.stderr}`.trim() }).toEqual({ status: 0, said: '' });
  });
  if (!promtool) it.todo("promtool check metrics: install Debian's prometheus package to run it (.ci/run does)");

  it('an OAuth client library finds the token endpoint from RFC 8414 metadata, gets a token with the client credentials grant, and the token works', async () => {
    const credentials = await createTestApp(gateway, ['support']);
    const config = await oauth.discovery(new URL(base), credentials.clientId, credentials.clientSecret, oauth.ClientSecretBasic(credentials.clientSecret), {
      algorithm: 'oauth2',
      execute: [oauth.allowInsecureRequests],
    });
    expect(config.serverMetadata()).toMatchObject({ issuer: base, token_endpoint: `${base}/oauth/token`, scopes_supported: expect.arrayContaining(['support', 'marketing']) });
    const granted = await oauth.clientCredentialsGrant(config, { scope: 'support' });
    expect(granted.token_type.toLowerCase()).toBe('bearer');
    const purposes = await fetch(`${base}/v1/purposes`, { headers: { Authorization: `Bearer ${granted.access_token}` } });
    expect(purposes.status).toBe(200);
  });

  it('challenges as RFC 6750 and RFC 6749 say: no error code without credentials, the error with bad ones, Basic on invalid_client', async () => {
    const none = await request(gateway.app).get('/v1/purposes');
    expect({ status: none.status, challenge: none.headers['www-authenticate'] }).toEqual({ status: 401, challenge: 'Bearer realm="custos"' });
    const bad = await request(gateway.app).get('/v1/purposes').set('Authorization', 'Bearer not-a-token');
    expect({ status: bad.status, challenge: bad.headers['www-authenticate'] }).toEqual({ status: 401, challenge: 'Bearer realm="custos", error="invalid_token"' });
    const malformed = await request(gateway.app).get('/v1/purposes').set('Authorization', 'Token abc');
    expect(malformed.headers['www-authenticate']).toBe('Bearer realm="custos", error="invalid_request"');
    // The secret in the body (client_secret_post), wrong: 401 invalid_client with a challenge all the same.
    const credentials = await createTestApp(gateway, ['support']);
    const wrong = await request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: 'wrong' });
    expect({ status: wrong.status, error: wrong.body.error, challenge: wrong.headers['www-authenticate'] }).toEqual({ status: 401, error: 'invalid_client', challenge: 'Basic realm="custos"' });
    const signIn = await request(gateway.app).post('/v1/officers/session').send({ username: 'nobody', password: 'wrong-password-1' });
    expect({ status: signIn.status, challenge: signIn.headers['www-authenticate'] }).toEqual({ status: 401, challenge: 'Bearer realm="custos"' });
  });
});

// The linter itself runs offline here: fail loudly if it is missing rather than skip.
execFileSync(process.execPath, [REDOCLY, '--version'], { stdio: 'ignore' });
