import request from 'supertest';
import { listAuditEvents } from '../../src/modules/audit/service.ts';
import { runCustosInProcess } from '../support/cli.ts';
import { appToken, createTestApp, postgresUrl, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { postgresBinaries, startThrowawayPostgres } from '../support/throwaway-postgres.ts';

// Runs in the PostgreSQL pass of the suite, on a cluster of its own (the shared server is never stopped).
const runs = postgresUrl && postgresBinaries() ? describe : describe.skip;

/** The answer, or 'hung' if none came within `ms`: a bound on hanging, generous next to the configured timeouts. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([work, new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)))]);
  clearTimeout(timer);
  return result;
}

async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

runs('a PostgreSQL server that goes down or stops answering', () => {
  let cluster: Awaited<ReturnType<typeof startThrowawayPostgres>>;
  let gateway: TestGateway;
  let token: string;
  beforeAll(async () => {
    cluster = await startThrowawayPostgres();
    gateway = await startTestGateway({ DATABASE_URL: cluster.url, DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '2000' });
    token = await appToken(gateway, await createTestApp(gateway, ['support']));
  }, 60_000);
  afterAll(async () => {
    cluster.resume();
    await gateway?.close().catch(() => undefined);
    cluster?.destroy();
  });

  const write = (phone: string) => request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${token}`).send({ purpose: 'support', identifiers: { phone } });
  const refused = (response: request.Response | 'hung') => {
    expect(response).not.toBe('hung');
    const r = response as request.Response;
    expect({ status: r.status, type: r.headers['content-type'], retryAfter: r.headers['retry-after'] }).toEqual({
      status: 503,
      type: expect.stringContaining('application/problem+json'),
      retryAfter: expect.any(String),
    });
  };

  it('answers 503 with Retry-After while the server is down, on every kind of route, and recovers by itself', async () => {
    expect((await write('13800138301')).status).toBe(201);
    cluster.stop();
    refused(await within(15_000, write('13800138302')));
    refused(await within(15_000, request(gateway.app).get('/v1/subjects/lookup').query({ purpose: 'support', phone: '13800138301' }).set('Authorization', `Bearer ${token}`)));
    refused(await within(15_000, request(gateway.app).post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: 'app_x', client_secret: 'y' })));
    refused(
      await within(
        15_000,
        request(gateway.app)
          .post('/v1/privacy-requests')
          .send({ type: 'access', identifier: { phone: '13800138303' } }),
      ),
    );
    const ready = await within(5_000, request(gateway.app).get('/readyz'));
    expect(ready).not.toBe('hung');
    expect((ready as request.Response).status).toBe(503);
    cluster.start();
    expect(await eventually(async () => (await write('13800138304')).status === 201, 20_000)).toBe(true);
    expect((await request(gateway.app).get('/readyz')).status).toBe(200);
  }, 90_000);

  it('restarted under a write load: answers only 201 or 503 meanwhile, and every acknowledged write is there afterwards', async () => {
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let loading = true;
    let next = 0;
    const worker = async () => {
      while (loading) {
        const response = await write(`1380014${String(next++).padStart(4, '0')}`);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 201) acknowledged.push(response.body.ref);
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    expect(await eventually(async () => acknowledged.length >= 30, 20_000)).toBe(true);
    cluster.stop();
    expect(await eventually(async () => (statuses.get(503) ?? 0) >= 8, 30_000)).toBe(true);
    cluster.start();
    const before = acknowledged.length;
    expect(await eventually(async () => acknowledged.length >= before + 30, 30_000)).toBe(true);
    loading = false;
    await Promise.all(workers);

    expect([...statuses.keys()].sort()).toEqual([201, 503]);
    for (const ref of acknowledged) {
      const read = await request(gateway.app).get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set('Authorization', `Bearer ${token}`);
      expect(read.status).toBe(200);
    }
    // Each acknowledged write has its audit event, and the trail verifies across the restart.
    await gateway.runtime.auditIntegrator.flush();
    const created = await listAuditEvents(gateway.runtime.db, { action: 'subjects.subject.create' }, 100_000);
    expect(created.filter((e) => e.decision === 'allow').length).toBeGreaterThanOrEqual(acknowledged.length);
    const verified = await runCustosInProcess(['audit', 'verify', '--json'], { env: gateway.env });
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, pending: 0 });
  }, 120_000);

  it('answers 503 within its timeouts while the server is paused, and /readyz within two seconds', async () => {
    expect((await write('13800138305')).status).toBe(201);
    cluster.pause();
    try {
      const ready = await within(2_500, request(gateway.app).get('/readyz'));
      expect(ready).not.toBe('hung');
      expect((ready as request.Response).body.checks.database).toBe('stuck');
      refused(await within(20_000, write('13800138306')));
    } finally {
      cluster.resume();
    }
    expect(await eventually(async () => (await write('13800138307')).status === 201, 20_000)).toBe(true);
  }, 90_000);
});
