import request from 'supertest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

describe('operations endpoints', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  it('answers liveness and readiness with the database and policy checked', async () => {
    expect((await request(gateway.app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(gateway.app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', policy: gateway.runtime.loaded.version, shutdown: 'no' } });
  });

  it('reports not ready while draining for shutdown', async () => {
    gateway.runtime.ops.shuttingDown = true;
    try {
      const response = await request(gateway.app).get('/readyz');
      expect(response.status).toBe(503);
      expect(response.body.checks.shutdown).toBe('draining');
    } finally {
      gateway.runtime.ops.shuttingDown = false;
    }
  });

  it('exposes Prometheus metrics by route pattern', async () => {
    await request(gateway.app).get('/healthz');
    const response = await request(gateway.app).get('/metrics');
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.text).toMatch(/custos_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(response.text).toContain('custos_process_resident_memory_bytes');
  });

  it('asks browsers to upgrade to https only when the public URL is https', async () => {
    const csp = (await request(gateway.app).get('/docs')).headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    const behindTls = await startTestGateway({ CUSTOS_PUBLIC_URL: 'https://custos.example' });
    try {
      expect((await request(behindTls.app).get('/docs')).headers['content-security-policy']).toContain('upgrade-insecure-requests');
    } finally {
      await behindTls.close();
    }
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const { body } = await request(gateway.app).get('/openapi.json');
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(['/oauth/token', '/v1/officers/session', '/v1/officers/me', '/v1/purposes', '/v1/policy', '/.well-known/jwks.json', '/healthz', '/readyz']),
    );
    const tokenBody = body.paths['/oauth/token'].post.requestBody.content['application/x-www-form-urlencoded'].schema;
    expect(Object.keys(tokenBody.properties)).toEqual(['grant_type', 'client_id', 'client_secret', 'scope']);
    expect(body.paths['/v1/purposes'].get.security).toEqual([{ appToken: [] }]);
    expect(body.paths['/v1/officers/session'].post.responses['400'].content['application/problem+json']).toBeDefined();
  });

  it('renders the document at /docs with its assets served locally', async () => {
    const page = await request(gateway.app).get('/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('/docs/assets/swagger-ui-bundle.js');
    expect((await request(gateway.app).get('/docs/assets/swagger-ui-bundle.js')).status).toBe(200);
    expect((await request(gateway.app).get('/docs/init.js')).text).toContain("url: '/openapi.json'");
  });
});
