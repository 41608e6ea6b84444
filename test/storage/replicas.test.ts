import { verifyConsistency } from '../../src/modules/audit/merkle/verify.ts';
import { ACCOUNT_RECHECK_MS } from '../../src/modules/auth/service.ts';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPolicy } from '../../src/modules/policies/load.ts';
import { runCustosInProcess } from '../support/cli.ts';
import { cleanUpEnvironment, databaseKind, EXAMPLE_POLICY_DIR, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess, type ChildProcess } from '../support/processes.ts';

/**
 * Two gateway processes share one database (the embedded file, or one
 * PostgreSQL schema), while the CLI writes to it too. Every access must land in
 * one gap-free hash chain, whichever process served it.
 */
describe(`two custos processes on one ${databaseKind} database`, () => {
  let env: Record<string, string>;
  const servers: Array<ChildProcess & { port: number }> = [];

  beforeAll(async () => {
    env = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1', TOKEN_RATE_LIMIT_PER_MINUTE: '100000', LOG_LEVEL: 'warn', AUDIT_TREE_HEAD_INTERVAL_MS: '0' };
    expect((await runCustos(['migrate'], { env })).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const started = await startProcess([CUSTOS_BIN, 'serve'], { env: { ...env, LOG_LEVEL: 'info' }, ready: /"port":(\d+)/ });
      servers.push({ ...started, port: Number(started.match[1]) });
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await cleanUpEnvironment(env);
  });

  it('keeps one strict audit order across both processes and the CLI', async () => {
    const created = await runCustos(['apps', 'create', '--name', 'Shared', '--purposes', 'support', '--json'], { env });
    expect(created.code).toBe(0);
    const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };

    const perServer = 40;
    const requests = servers.flatMap((server, s) =>
      Array.from({ length: perServer }, async (_, i) => {
        const secret = i % 4 === 0 ? 'wrong-secret' : clientSecret;
        const response = await fetch(`http://127.0.0.1:${server.port}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': `p${s}-${i}` },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
        });
        return response.status;
      }),
    );
    // Heads signed while both replicas append, read from either replica.
    const heads: Array<{ treeSize: number; rootHash: string }> = [];
    let loading = true;
    const watchHeads = (async () => {
      for (let i = 0; loading; i++) {
        heads.push((await (await fetch(`http://127.0.0.1:${servers[i % 2]!.port}/v1/audit/tree-head`)).json()) as { treeSize: number; rootHash: string });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // The CLI writes at the same moment the servers do.
    const [statuses, cliWrite] = await Promise.all([Promise.all(requests), runCustos(['apps', 'create', '--name', 'During load', '--purposes', 'support'], { env })]);
    loading = false;
    await watchHeads;
    expect(cliWrite.code).toBe(0);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);

    // A token from one replica works on the other: they share the key and the data.
    const token = await fetch(`http://127.0.0.1:${servers[0]!.port}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    expect((await fetch(`http://127.0.0.1:${servers[1]!.port}/v1/purposes`, { headers: { authorization: `Bearer ${token.access_token}` } })).status).toBe(200);

    const verified = await runCustos(['audit', 'verify', '--json'], { env });
    expect(verified.code).toBe(0);
    // app created + 80 token answers + CLI app + 1 more token
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, treeSize: 83, checked: 83, pending: 0 });

    // Every head seen during the run is a prefix of the final log (RFC 9162 consistency proofs from the other replica).
    const final = (await (await fetch(`http://127.0.0.1:${servers[1]!.port}/v1/audit/tree-head`)).json()) as { treeSize: number; rootHash: string };
    expect(final.treeSize).toBe(83);
    const seen = heads.filter((h) => h.treeSize > 0);
    expect(new Set(seen.map((h) => h.treeSize)).size).toBeGreaterThan(1);
    for (const head of seen) {
      const { proof } = (await (await fetch(`http://127.0.0.1:${servers[0]!.port}/v1/audit/proofs/consistency?from=${head.treeSize}&to=${final.treeSize}`)).json()) as { proof: string[] };
      const hex = (h: string) => Buffer.from(h, 'hex');
      expect(verifyConsistency(head.treeSize, final.treeSize, proof.map(hex), hex(head.rootHash), hex(final.rootHash))).toBe(true);
    }

    // Removing the app from the CLI stops its unexpired token on every replica within the recheck bound.
    expect((await runCustos(['apps', 'remove', clientId], { env })).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, ACCOUNT_RECHECK_MS + 100));
    for (const server of servers) {
      const response = await fetch(`http://127.0.0.1:${server.port}/v1/purposes`, { headers: { authorization: `Bearer ${token.access_token}` } });
      expect(response.status).toBe(401);
    }
  });

  it('refuses a replica or a command started with another master key, naming the setting and both fingerprints', async () => {
    const otherKey = { ...env, CUSTOS_MASTER_KEY: randomBytes(32).toString('base64'), PORT: '0' };
    const replica = await runCustos(['serve'], { env: otherKey });
    expect(replica.code).toBe(1);
    expect(replica.stderr).toMatch(/CUSTOS_MASTER_KEY: is not the key this database was set up with \(fingerprint [0-9a-f]{12} here, [0-9a-f]{12} in the database\)/);
    expect(replica.stderr).not.toContain(otherKey.CUSTOS_MASTER_KEY);
    const command = await runCustosInProcess(['apps', 'list'], { env: otherKey });
    expect(command.code).toBe(1);
    expect(command.stderr).toContain('every replica and CLI command must use the same key');
    // The replicas with the right key serve on.
    expect((await fetch(`http://127.0.0.1:${servers[0]!.port}/readyz`)).status).toBe(200);
  });

  it('refuses a replica started with other policy files than the live replicas, naming both versions; the others serve on', async () => {
    const policyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-policy-'));
    const example = fs.readFileSync(path.join(EXAMPLE_POLICY_DIR, 'custos.yaml'), 'utf8');
    fs.writeFileSync(path.join(policyDir, 'custos.yaml'), example.replace(/^(\s*description: )(.*)$/m, '$1$2 (revised)'));
    const mine = loadPolicy(EXAMPLE_POLICY_DIR).version;
    const theirs = loadPolicy(policyDir).version;
    expect(theirs).not.toBe(mine);
    try {
      const replica = await runCustos(['serve'], { env: { ...env, POLICY_DIR: policyDir, PORT: '0' } });
      expect(replica.code).toBe(1);
      expect(replica.stderr).toContain(`POLICY_DIR: holds policy version ${theirs}, but 2 replica(s) serving this database run policy version ${mine}`);
      // A CLI command is not a replica: it runs beside them.
      expect((await runCustosInProcess(['apps', 'list'], { env: { ...env, POLICY_DIR: policyDir } })).code).toBe(0);
      expect((await fetch(`http://127.0.0.1:${servers[1]!.port}/readyz`)).status).toBe(200);
    } finally {
      fs.rmSync(policyDir, { recursive: true, force: true });
    }
  });
});
