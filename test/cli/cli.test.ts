import net from 'node:net';
import { migrationFiles } from '../../src/storage/migrate.ts';
import { loadConfig } from '../../src/config.ts';
import { cleanUpEnvironment, databaseKind, testEnvironment } from '../support/gateway.ts';
import { runCustosInProcess } from '../support/cli.ts';
import { CUSTOS_BIN, runCustos, startProcess } from '../support/processes.ts';

describe('custos CLI', () => {
  // Every migration this build ships, on the engine this run uses.
  const allMigrations = migrationFiles(databaseKind).map((m) => m.name);
  let env: Record<string, string>;
  beforeAll(async () => {
    env = testEnvironment();
    const migrated = await runCustosInProcess(['migrate', '--json'], { env });
    expect(migrated.code).toBe(0);
    expect(JSON.parse(migrated.stdout).applied).toEqual(allMigrations);
    expect(allMigrations.slice(0, 2)).toEqual(['0001_foundation', '0002_subjects']);
  });
  afterAll(() => cleanUpEnvironment(env));

  it('migrate is idempotent', async () => {
    const again = await runCustosInProcess(['migrate', '--json'], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: [], alreadyApplied: allMigrations });
  });

  it('apps create --json prints the credentials once, in the documented shape', async () => {
    const result = await runCustosInProcess(['apps', 'create', '--name', 'Dialer', '--purposes', 'marketing,support', '--reveal', 'call,sms', '--json'], { env });
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout);
    expect(created).toEqual({
      clientId: expect.stringMatching(/^app_[a-z0-9]{20}$/),
      clientSecret: expect.stringMatching(/^cs_/),
      name: 'Dialer',
      purposes: ['marketing', 'support'],
      reveal: ['call', 'sms'],
    });
    const list = JSON.parse((await runCustosInProcess(['apps', 'list', '--json'], { env })).stdout);
    expect(list).toContainEqual(expect.objectContaining({ clientId: created.clientId, removedAt: null }));
    expect(JSON.stringify(list)).not.toContain(created.clientSecret);
  });

  it('says so when the servers on its database run another policy version than the command loaded', async () => {
    const quiet = await runCustosInProcess(['apps', 'list', '--json'], { env });
    expect(quiet.stderr).toBe('');
    // A live server of another policy version, as its replica row says (written here as `custos serve` would).
    const { openDatabase } = await import('../../src/storage/database.ts');
    const db = await openDatabase(loadConfig(env).database);
    try {
      const now = new Date();
      await db.writeAlone([{ sql: 'INSERT INTO replica (instance_id, policy_version, started_at, seen_at) VALUES (?, ?, ?, ?)', params: ['other-server', 'feedfacecafe0001', now, now] }]);
      const noted = await runCustosInProcess(['apps', 'list', '--json'], { env });
      expect(noted.code).toBe(0);
      expect(noted.stderr).toMatch(/^custos: note: the servers on this database run policy version feedfacecafe0001; this command loaded [0-9a-f]{16} from POLICY_DIR=/);
      expect(() => JSON.parse(noted.stdout)).not.toThrow();
    } finally {
      await db.writeAlone([{ sql: 'DELETE FROM replica WHERE instance_id = ?', params: ['other-server'] }]);
      await db.close();
    }
  });

  it('apps create refuses a purpose the policy does not define, exit 1', async () => {
    const result = await runCustosInProcess(['apps', 'create', '--name', 'X', '--purposes', 'surveillance'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('purposes: unknown purpose "surveillance"');
  });

  it('officers create reads the password from stdin; list shows the officer; remove disables them once', async () => {
    const result = await runCustosInProcess(['officers', 'create', '--username', 'dana', '--role', 'privacy-agent', '--password-stdin', '--json'], { env, input: 'correct horse battery staple\n' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ id: expect.stringMatching(/^off_/), username: 'dana', role: 'privacy-agent' });
    const dup = await runCustosInProcess(['officers', 'create', '--username', 'dana', '--role', 'admin', '--password-stdin'], { env, input: 'another long password' });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already exists');
    const listed = await runCustosInProcess(['officers', 'list', '--json'], { env });
    const dana = JSON.parse(listed.stdout).find((o: { username: string }) => o.username === 'dana');
    expect(dana).toEqual({ id: expect.stringMatching(/^off_/), username: 'dana', role: 'privacy-agent', createdAt: expect.any(String), removedAt: null });
    expect((await runCustosInProcess(['officers', 'remove', dana.id], { env })).stdout).toContain(`Removed ${dana.id}`);
    expect((await runCustosInProcess(['officers', 'remove', dana.id], { env })).code).toBe(1);
  });

  it('officers create refuses an unknown role', async () => {
    const result = await runCustosInProcess(['officers', 'create', '--username', 'eve', '--role', 'overlord'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Allowed choices are auditor, privacy-agent, admin/);
  });

  it('audit verify confirms the trail the commands above wrote', async () => {
    const result = await runCustosInProcess(['audit', 'verify', '--json'], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, checked: 3 }); // app create, officer create, officer remove
  });
});

describe('custos demo seed and keys rotate', () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = testEnvironment();
    expect((await runCustosInProcess(['migrate'], { env })).code).toBe(0);
  });
  afterAll(() => cleanUpEnvironment(env));

  it('seeds fake subjects for a new demo app, then rotates keys over them', async () => {
    const seeded = await runCustosInProcess(['demo', 'seed', '--subjects', '250', '--json'], { env });
    expect(seeded.code).toBe(0);
    expect(JSON.parse(seeded.stdout)).toMatchObject({ created: 250, clientId: expect.stringMatching(/^app_/), clientSecret: expect.stringMatching(/^cs_/) });
    const rotated = await runCustosInProcess(['keys', 'rotate', '--json'], { env });
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toEqual({ version: 2, subjects: 250 });
    const verified = await runCustosInProcess(['audit', 'verify', '--json'], { env });
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
  });

  it('refuses a silly subject count', async () => {
    const result = await runCustosInProcess(['demo', 'seed', '--subjects', 'lots'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--subjects must be a whole number');
  });
});

describe('custos serve start-up', () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    // No CUSTOS_MASTER_KEY: the development key path.
    const { CUSTOS_MASTER_KEY: _unused, ...rest } = testEnvironment();
    env = { ...rest, HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    expect((await runCustos(['migrate'], { env })).code).toBe(0);
  });
  afterAll(() => cleanUpEnvironment(env));

  it('mentions the development key only when a command creates it, and at every serve', async () => {
    const first = await runCustos(['apps', 'list'], { env });
    expect(first.stderr).toContain('GENERATED A DEVELOPMENT MASTER KEY');
    const second = await runCustos(['apps', 'list'], { env });
    expect(second.code).toBe(0);
    expect(second.stderr).not.toMatch(/development master key/i);
    const server = await startProcess([CUSTOS_BIN, 'serve'], {
      env: { ...env, PORT: '0' },
      ready: /custos listening on (http:\/\/127\.0\.0\.1:(\d+)) \(API docs at http:\/\/127\.0\.0\.1:\d+\/docs\)/,
    });
    try {
      expect(server.stdout() + server.stderr()).toMatch(/Using the development master key/);
      expect((await fetch(`${server.match[1]}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('a taken port is one line naming PORT and exit 1, not a stack trace', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runCustos(['serve'], { env: { ...env, PORT: String(port) } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`custos: port ${port} is already in use; set PORT to a free port`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});
