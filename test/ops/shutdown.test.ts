import http from 'node:http';
import { cleanUpEnvironment, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess } from '../support/processes.ts';

describe('custos serve', () => {
  it('finishes in-flight requests on SIGTERM, refuses new ones, and exits 0', async () => {
    const env: Record<string, string> = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1' };
    if (env.DATABASE_URL) expect((await runCustos(['migrate'], { env })).code).toBe(0);
    const server = await startProcess([CUSTOS_BIN, 'serve'], { env, ready: /"port":(\d+)/ });
    const port = Number(server.match[1]);
    try {
      const body = JSON.stringify({ username: 'nobody-here', password: 'some-password' });
      // Half a request: the server has it in flight when the signal arrives.
      const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, method: 'POST', path: '/v1/officers/session', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, text }));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 10));
        setTimeout(() => {
          server.child.kill('SIGTERM');
          setTimeout(() => req.end(body.slice(10)), 500);
        }, 300);
      });
      const answer = await inFlight;
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.text).detail).toBe('unknown username or wrong password');
      expect(await server.exited).toBe(0);
      expect(server.stdout()).toContain('shutting down: draining in-flight requests');
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await server.stop('SIGKILL');
      await cleanUpEnvironment(env);
    }
  });

  it('exits 1 naming the variable when the configuration is bad', async () => {
    const env = { ...testEnvironment(), PORT: 'eighty' };
    try {
      const result = await runCustos(['serve'], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('PORT:');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await cleanUpEnvironment(env);
    }
  });
});
