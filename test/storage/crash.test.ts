import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createRuntime } from '../../src/runtime.ts';
import { cleanUpEnvironment, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess } from '../support/processes.ts';

/**
 * kill -9 in the middle of mixed writes: every write the gateway acknowledged
 * is in the database afterwards, and the audit trail verifies.
 */
describe('a gateway killed with SIGKILL during writes', () => {
  it('loses no acknowledged write and leaves an audit trail that verifies', async () => {
    const env: Record<string, string> = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', REQUESTS_RATE_LIMIT_PER_MINUTE: '100000', REQUESTS_PER_IDENTIFIER_PER_HOUR: '100000' };
    try {
      if (env.DATABASE_URL) expect((await runCustos(['migrate'], { env })).code).toBe(0);
      const app = JSON.parse((await runCustos(['apps', 'create', '--name', 'Crash', '--purposes', 'marketing,support', '--json'], { env })).stdout) as { clientId: string; clientSecret: string };
      const server = await startProcess([CUSTOS_BIN, 'serve'], { env, ready: /"port":(\d+)/, keepOutput: false });
      const base = `http://127.0.0.1:${server.match[1]}`;
      const token = (
        (await (
          await fetch(`${base}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }) })
        ).json()) as { access_token: string }
      ).access_token;
      const post = (path: string, body: unknown, method = 'POST') =>
        fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

      const acknowledged = { subjects: [] as string[], consents: [] as string[], requests: [] as string[] };
      let killed = false;
      const worker = async (w: number) => {
        for (let i = 0; !killed; i++) {
          try {
            const phone = `1390${String(w).padStart(3, '0')}${String(i).padStart(4, '0')}`;
            const written = await post('/v1/subjects', { purpose: 'marketing', identifiers: { phone }, attributes: { name: `Crash ${w}-${i}` } });
            if (written.status !== 201) continue;
            const { ref } = (await written.json()) as { ref: string };
            acknowledged.subjects.push(ref);
            if ((await post(`/v1/subjects/${ref}/consents/marketing`, { source: 'crash-test', noticeVersion: 'n1' }, 'PUT')).status === 200) acknowledged.consents.push(ref);
            const asked = await post('/v1/privacy-requests', { type: 'access', identifier: { phone } });
            if (asked.status === 202) acknowledged.requests.push(((await asked.json()) as { id: string }).id);
          } catch {
            // the connection died with the server
          }
        }
      };
      const workers = Array.from({ length: 8 }, (_, w) => worker(w));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      server.child.kill('SIGKILL');
      killed = true;
      await server.exited;
      await Promise.all(workers);
      expect(acknowledged.subjects.length).toBeGreaterThan(10);

      const runtime = await createRuntime(loadConfig(env), createLogger('error'));
      try {
        const refs = await runtime.db.read.subjectRef.count({ where: { ref: { in: acknowledged.subjects } } });
        expect(refs).toBe(acknowledged.subjects.length);
        for (const ref of acknowledged.consents) {
          const subject = await runtime.subjects.subjectOfRef(app.clientId, ref);
          expect((await runtime.consent.checkConsent(subject!, 'marketing')).allowed).toBe(true);
        }
        expect(await runtime.db.read.privacyRequest.count({ where: { id: { in: acknowledged.requests } } })).toBe(acknowledged.requests.length);
        await runtime.auditIntegrator.flush();
      } finally {
        await runtime.close();
      }
      const verified = await runCustos(['audit', 'verify', '--json'], { env, timeoutMs: 60_000 });
      expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: '' });
    } finally {
      await cleanUpEnvironment(env);
    }
  }, 90_000);
});
