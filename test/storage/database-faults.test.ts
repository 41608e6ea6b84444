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
    // Statements keep their default 10 s budget: the bound on a paused server is the watchdog's
    // (DATABASE_ANSWER_TIMEOUT_MS, 2 s by default), not a short statement timeout.
    gateway = await startTestGateway({ DATABASE_URL: cluster.url, DATABASE_CONNECT_TIMEOUT_MS: '1000' });
    token = await appToken(gateway, await createTestApp(gateway, ['support', 'marketing']));
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

  it('leaves a statement that runs longer than the bound alone while the server answers', async () => {
    // pg_sleep holds its connection 3 s, past the 2 s bound: the watchdog probes, hears an answer, and lets it finish.
    const probed = async (verdict: string) =>
      Number(new RegExp(`^custos_database_probes_total\\{verdict="${verdict}"\\} (\\d+)$`, 'm').exec((await request(gateway.app).get('/metrics')).text)?.[1] ?? 0);
    const answeringBefore = await probed('answering');
    await expect(gateway.runtime.db.readRaw('SELECT pg_sleep(3) AS slept')).resolves.toHaveLength(1);
    expect((await request(gateway.app).get('/readyz')).status).toBe(200);
    // It was probed, and heard: a slow statement, not a stuck server.
    expect(await probed('answering')).toBeGreaterThan(answeringBefore);
    expect((await request(gateway.app).get('/metrics')).text).toMatch(/^custos_database_stuck 0$/m);
  }, 30_000);

  it('paused with requests in flight: every request, in flight or new, is answered within the bound, and a 503 that says nothing changed means nothing did', async () => {
    // Hang detection only: the documented bound is 2 s (DATABASE_ANSWER_TIMEOUT_MS); anything not
    // answered within twice that, while the pause lasts three times as long, hangs on the server.
    const HANG_MS = 4_000;
    type Outcome = { kind: 'create' | 'read' | 'grant'; phone: string; ref?: string; status: number | 'hung'; code?: string; retryAfter?: string; ms?: number };
    const outcomes: Outcome[] = [];
    const held: Array<{ ref: string; phone: string }> = [];
    let loading = true;
    let next = 0;
    const answer = async (kind: Outcome['kind'], phone: string, sent: request.Test, ref?: string) => {
      const started = performance.now();
      const response = await within(HANG_MS, sent);
      const outcome: Outcome = { kind, phone, ref, status: response === 'hung' ? 'hung' : response.status, ms: Math.round(performance.now() - started) };
      if (response !== 'hung') Object.assign(outcome, { code: response.body?.type?.split(':').at(-1), retryAfter: response.headers['retry-after'] });
      if (response !== 'hung' && kind === 'create' && response.status === 201) held.push({ ref: response.body.ref, phone });
      outcomes.push(outcome);
    };
    const worker = async (w: number) => {
      while (loading) {
        const phone = `1390015${String(next++).padStart(4, '0')}`;
        const known = held[(next * 7 + w) % Math.max(1, held.length)];
        if (w % 3 === 0 || !known) await answer('create', phone, write(phone));
        else if (w % 3 === 1) await answer('read', known.phone, request(gateway.app).get(`/v1/subjects/${known.ref}`).query({ purpose: 'support' }).set('Authorization', `Bearer ${token}`), known.ref);
        else
          await answer(
            'grant',
            known.phone,
            request(gateway.app).put(`/v1/subjects/${known.ref}/consents/marketing`).set('Authorization', `Bearer ${token}`).send({ source: 'fault-test', noticeVersion: 'n1' }),
            known.ref,
          );
      }
    };
    const workers = Array.from({ length: 9 }, (_, w) => worker(w));
    expect(await eventually(async () => held.length >= 20, 20_000)).toBe(true);
    const beforePause = outcomes.length;
    let ready: request.Response | 'hung';
    cluster.pause();
    try {
      // Requests keep arriving through the whole pause; those in flight when it began are among them.
      await new Promise((resolve) => setTimeout(resolve, 3 * HANG_MS));
      ready = await within(HANG_MS, request(gateway.app).get('/readyz'));
    } finally {
      cluster.resume();
    }
    expect(await eventually(async () => (await write(`1390016${String(next++).padStart(4, '0')}`)).status === 201, 20_000)).toBe(true);
    loading = false;
    await Promise.all(workers);

    const during = outcomes.slice(beforePause);
    if (process.env.FAULT_REPORT) {
      const tally: Record<string, number> = {};
      for (const o of during) tally[`${o.kind} ${o.status} ${o.code ?? ''}`] = (tally[`${o.kind} ${o.status} ${o.code ?? ''}`] ?? 0) + 1;
      console.log(JSON.stringify({ tally, slowestMs: Math.max(...during.map((o) => o.ms ?? 0)) }));
    }
    expect(during.filter((o) => o.status === 'hung')).toEqual([]);
    expect(ready !== 'hung' && ready.body.checks.database).toBe('stuck');
    expect((await request(gateway.app).get('/metrics')).text).toMatch(/^custos_database_probes_total\{verdict="stuck"\} [1-9]\d*$/m);
    const refused = during.filter((o) => o.status === 503);
    expect(refused.length).toBeGreaterThan(9);
    for (const o of refused) expect({ code: o.code, retryAfter: o.retryAfter }).toEqual({ code: expect.stringMatching(/^(unavailable|outcome-unknown)$/), retryAfter: expect.any(String) });
    expect([...new Set(during.map((o) => o.status))].filter((s) => s !== 503).every((s) => s === 200 || s === 201)).toBe(true);

    // Afterwards: every acknowledged person is there; a create answered "nothing was changed" left no one behind.
    const lookup = (phone: string) => request(gateway.app).get('/v1/subjects/lookup').query({ purpose: 'support', phone }).set('Authorization', `Bearer ${token}`);
    for (const { phone } of held) expect((await lookup(phone)).status).toBe(200);
    const notWritten = outcomes.filter((o) => o.kind === 'create' && o.code === 'unavailable');
    expect(notWritten.length).toBeGreaterThan(0);
    for (const { phone } of notWritten) expect((await lookup(phone)).status).toBe(404);
    await gateway.runtime.auditIntegrator.flush();
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
