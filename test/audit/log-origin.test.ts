import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createRuntime } from '../../src/runtime.ts';
import { runCustosInProcess } from '../support/cli.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * The log has one name: the origin is fixed at the database's first start,
 * so replicas on other ports and CLI commands without the server's PORT sign
 * and check checkpoints for the same log, and a rename is refused.
 */
describe(`the audit log's origin, on ${databaseKind}`, () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  const elsewhere = (over: Record<string, string | undefined>) => {
    const env: Record<string, string> = { ...gateway.env, AUDIT_INTEGRATOR: 'false' };
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return env;
  };

  it("is the first start's on every later process, whatever its port or URL", async () => {
    expect(gateway.runtime.auditOrigin).toBe('custos.test/custos-audit');
    const replica = await createRuntime(loadConfig(elsewhere({ CUSTOS_PUBLIC_URL: undefined, PORT: '9137' })), createLogger('error'));
    try {
      expect(replica.config.audit.origin).toBe('localhost:9137/custos-audit');
      expect(replica.auditOrigin).toBe('custos.test/custos-audit');
      const note = (await request(createApp(replica)).get('/v1/audit/checkpoint')).text;
      expect(note.split('\n')[0]).toBe('custos.test/custos-audit');
    } finally {
      await replica.close();
    }
  });

  it('refuses an AUDIT_LOG_ORIGIN that would rename the log, naming the one it has', async () => {
    await expect(createRuntime(loadConfig(elsewhere({ AUDIT_LOG_ORIGIN: 'audit.other.example/log' })), createLogger('error'))).rejects.toThrow(
      /AUDIT_LOG_ORIGIN: names the log "audit\.other\.example\/log", but this database's log is "custos\.test\/custos-audit"/,
    );
    // The same name, set explicitly, is fine.
    const same = await createRuntime(loadConfig(elsewhere({ AUDIT_LOG_ORIGIN: 'custos.test/custos-audit' })), createLogger('error'));
    await same.close();
  });

  it("lets `custos audit verify --checkpoint` check a kept checkpoint without the server's PORT or URL", async () => {
    await gateway.runtime.auditIntegrator.flush();
    const note = (await request(gateway.app).get('/v1/audit/checkpoint')).text;
    const file = path.join(gateway.env.CUSTOS_DATA_DIR!, 'kept-checkpoint.txt');
    fs.writeFileSync(file, note);
    const verified = await runCustosInProcess(['audit', 'verify', '--checkpoint', file, '--json'], { env: elsewhere({ CUSTOS_PUBLIC_URL: undefined, PORT: undefined }) });
    expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
