// npm run bench: throughput and latency of Custos routes beside a bare Express 5 +
// helmet endpoint measured in the same run on the same machine. Each server runs
// in its own process; the load generator runs here. Set DATABASE_URL to measure
// Custos on PostgreSQL instead of the embedded database.
//   BENCH_DURATION=10 BENCH_CONNECTIONS=50 BENCH_SUBJECTS=80000 npm run bench
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { identifierDigest } from '../src/modules/pseudonyms/derive.ts';
import { createRuntime } from '../src/runtime.ts';
import { migrate } from '../src/storage/migrate.ts';
import { dropSchema } from '../test/support/gateway.ts';
import { runCustos, startProcess, type ChildProcess } from '../test/support/processes.ts';
import { seedAuditTrail } from './bench/audit.ts';
import { benchImports } from './bench/imports.ts';
import { accessExportFigure, healthzDuringBigScrub, healthzDuringHostileBodies, subjectWithLongLedger, suppressionsBesideScrub } from './bench/requests.ts';
import { openDatabaseWork } from './bench/database-work.ts';
import { asyncOpsPerSecond, measure, measureSpread, opsPerSecond, printTable, type Figure, type LoadOptions } from './bench/measure.ts';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const subjectCount = Number(process.env.BENCH_SUBJECTS ?? 80_000);
const auditEventCount = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const root = path.join(__dirname, '..');
// For work on one figure: BENCH_ONLY=authorize runs only the scenarios whose name matches;
// BENCH_PROFILE=dir writes a CPU profile of the gateway there; BENCH_DNC_NUMBERS=0 skips import and scrub.
const only = new RegExp(process.env.BENCH_ONLY ?? '.', 'i');
const profileDir = process.env.BENCH_PROFILE;

// Seeded people are numbered from here, so the benchmark knows identifiers Custos holds (demo-seed's e-mail form).
const FIRST_SERIAL = 1_000_000;
const knownEmail = (i: number) => `customer.${(FIRST_SERIAL + i).toString(36)}@example.com`;

/** A throw-away schema, so a benchmark never touches real data and leaves nothing behind. */
function benchSchemaUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', `custos_bench_${randomBytes(4).toString('hex')}`);
  return url.toString();
}

/** Loads the subjects through the product's own seeding, and returns an app that holds refs to them. */
async function prepareData(env: Record<string, string>) {
  const config = loadConfig(env);
  await migrate(config.database);
  const runtime = await createRuntime(config, createLogger('warn'));
  try {
    const ctx = { actor: { type: 'system' as const, id: 'bench' }, requestId: 'bench', policyVersion: runtime.loaded.version };
    const app = await runtime.auth.createApp(ctx, { name: 'Bench', purposes: ['marketing', 'support'], reveal: [] });
    const started = Date.now();
    await runtime.subjects.seedSubjects(ctx, app.clientId, subjectCount, undefined, { firstSerial: FIRST_SERIAL });
    const seedSeconds = (Date.now() - started) / 1000;
    const allRefs = (await runtime.db.read.subjectRef.findMany({ where: { appId: app.clientId }, select: { ref: true } })).map((r) => r.ref);
    const refs = allRefs.slice(0, 5000);

    // Consent: the marketing reads below need it; one subject gets a 50-entry history for the check figure.
    const caller = { clientId: app.clientId, purposes: app.purposes };
    const grant = { source: 'bench', noticeVersion: 'bench-1' };
    const consented = refs.slice(0, 1000);
    for (const ref of consented) await runtime.consent.grant(ctx, caller, ref, 'marketing', grant, { gpc: false });
    // Capped contacts that the cap allows: people no other scenario writes to, each with room for two sms this week.
    const capRoom = allRefs.slice(5000, 25_000);
    if (only.test('sms, marketing, capped, allowed'))
      for (let i = 0; i < capRoom.length; i += 50) await Promise.all(capRoom.slice(i, i + 50).map((ref) => runtime.consent.grant(ctx, caller, ref, 'marketing', grant, { gpc: false })));
    const busy = refs[0]!;
    for (let i = 0; i < 49; i++) {
      if (i % 2 === 0) await runtime.consent.withdraw(ctx, caller, busy, 'marketing', { topics: ['bird-food'], source: 'bench' }, { gpc: false });
      else await runtime.consent.grant(ctx, caller, busy, 'marketing', grant, { gpc: false });
    }
    const busySubject = (await runtime.subjects.subjectOfRef(app.clientId, busy))!;
    const history = await runtime.db.read.consentEvent.count({ where: { subjectId: busySubject } });
    const checks = await asyncOpsPerSecond(() => runtime.consent.checkConsent(busySubject, 'marketing', { channel: 'email', topic: 'cat-food' }), 2000);

    // The audit trail the officers' queries, proofs and `audit verify` are measured against.
    const auditSubjects = (await runtime.db.read.subject.findMany({ select: { id: true }, take: 1000 })).map((s) => s.id);
    const auditSeed = await seedAuditTrail(runtime, auditEventCount, app.clientId, auditSubjects);
    const officer = await runtime.auth.createOfficer(ctx, { username: 'bench-auditor', role: 'auditor', password: 'bench-auditor-password-1' });
    // Consent writes: one subject with 10,000 ledger entries against one with a fresh ledger.
    const longLedger = refs[1]!;
    const freshLedger = refs[4000]!;
    await subjectWithLongLedger(runtime, app.clientId, longLedger, 10_000);
    const exportFigure = await accessExportFigure(runtime, app.clientId, knownEmail(subjectCount - 1), 10_000);
    return {
      app,
      refs,
      allRefs,
      consented,
      capRoom,
      seedSeconds,
      consentFigure: { history, checks },
      auditSubjects,
      auditSeed,
      exportFigure,
      longLedger,
      freshLedger,
      officer: { username: officer.username, password: 'bench-auditor-password-1' },
    };
  } finally {
    await runtime.close();
    // Push the freshly seeded pages to disk now, so the kernel's write-back of hundreds of MB
    // does not slow the commits (fsyncs) of the scenarios that follow.
    if (config.database.kind === 'sqlite') {
      const fd = fs.openSync(config.database.url, 'r+');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
  }
}

/**
 * The example policies, with the default time zone (seeded people have none)
 * one where it is daytime during the run, so that quiet hours decide no
 * contact and the contact scenarios measure the caps and lists.
 */
function daytimePolicies(dataDir: string): string {
  const hourIn = (zone: string) => Number(new Intl.DateTimeFormat('en', { timeZone: zone, hour: 'numeric', hourCycle: 'h23' }).format(new Date()));
  const zone = Intl.supportedValuesOf('timeZone').find((z) => hourIn(z) >= 10 && hourIn(z) < 15)!;
  const dir = path.join(dataDir, 'policies');
  fs.mkdirSync(dir);
  for (const file of fs.readdirSync(path.join(root, 'policies'))) {
    const text = fs.readFileSync(path.join(root, 'policies', file), 'utf8');
    fs.writeFileSync(path.join(dir, file), text.replace(/^(\s+timezone:\s*)[\w/+-]+/m, `$1${zone}`));
  }
  return dir;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-bench-'));
  const env: Record<string, string> = {
    CUSTOS_DATA_DIR: dataDir,
    POLICY_DIR: daytimePolicies(dataDir),
    CUSTOS_MASTER_KEY: randomBytes(32).toString('base64'),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // Submissions are measured from one address for many identifiers; the limits would answer 429.
    REQUESTS_RATE_LIMIT_PER_MINUTE: '1000000000',
    REQUESTS_PER_IDENTIFIER_PER_HOUR: '1000000000',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: benchSchemaUrl(process.env.DATABASE_URL) } : {}),
  };
  const processes: ChildProcess[] = [];
  try {
    const database = env.DATABASE_URL ? 'postgresql' : 'embedded (SQLite)';
    console.log(`Custos benchmark: ${os.cpus().length} CPUs, ${connections} connections, ${duration}s per scenario, database ${database}`);

    const digestKey = randomBytes(32);
    const digests = opsPerSecond((i) => identifierDigest(digestKey, 'phone', `+86138${String(i).padStart(8, '0')}`), 1_000_000);
    console.log(`pseudonym derivation (HMAC-SHA-256 of a phone number, one core): ${digests.toLocaleString('en')} /s`);

    // Importing a customer base, beside demo seed of as many people (BENCH_ONLY=import runs this alone; BENCH_IMPORT_ROWS sets the count).
    // BENCH_IMPORT_BESIDE_SEED=false measures the import alone (1,000,000 rows: its memory and the reads beside it).
    if (only.test('import')) await benchImports(env, Number(process.env.BENCH_IMPORT_ROWS ?? subjectCount), duration, { besideSeed: process.env.BENCH_IMPORT_BESIDE_SEED !== 'false' });
    if (process.env.BENCH_ONLY && /^import/i.test(process.env.BENCH_ONLY)) return;

    const { app, refs, allRefs, consented, capRoom, seedSeconds, consentFigure, auditSubjects, auditSeed, exportFigure, longLedger, freshLedger, officer } = await prepareData(env);
    console.log(`seeded ${subjectCount.toLocaleString('en')} subjects in ${seedSeconds.toFixed(1)} s (custos demo seed path)`);
    console.log(
      `seeded ${auditEventCount.toLocaleString('en')} audit events through the append path: appended ${auditSeed.appendPerSecond.toLocaleString('en')} /s, placed in the Merkle tree by the integrator ${auditSeed.integratePerSecond.toLocaleString('en')} /s`,
    );
    console.log(`access export for a person with 10,000 audit events about them: built in ${exportFigure.milliseconds} ms (${exportFigure.accessLog.toLocaleString('en')} access-log entries)`);
    console.log(`consent check (ledger of ${consentFigure.history} entries; the kept state is read): ${consentFigure.checks.toLocaleString('en')} /s`);

    const baselineServer = await startProcess(['--require', 'tsx/cjs', path.join(__dirname, 'bench', 'baseline-server.ts')], { ready: /"port":(\d+)/ });
    processes.push(baselineServer);
    const startGateway = async (extra: Record<string, string> = {}) => {
      const started = await startProcess([...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(root, 'bin', 'custos'), 'serve'], {
        env: { ...env, LOG_LEVEL: 'info', ...extra },
        ready: /"port":(\d+)/,
        keepOutput: false,
      });
      processes.push(started);
      return { process: started, url: `http://127.0.0.1:${started.match[1]}` };
    };
    let gateway = await startGateway();
    const custosUrl = gateway.url;
    const tokenResponse = await fetch(`${custosUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }),
    });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const auth = { authorization: `Bearer ${token}` };

    const baseline = await measure('bare Express 5 + helmet (baseline)', { url: `http://127.0.0.1:${baselineServer.match[1]}/baseline`, connections, durationSeconds: duration });
    const scenarios: Array<[string, LoadOptions]> = [
      ['GET /healthz (Custos middleware only)', { url: `${custosUrl}/healthz`, connections, durationSeconds: duration }],
      ['GET /v1/purposes (JWT verified, app checked)', { url: `${custosUrl}/v1/purposes`, headers: auth, connections, durationSeconds: duration }],
      // Latency of a read when the server is not saturated (one client, one request at a time).
      [
        'GET /v1/subjects/{ref}, one client (latency)',
        {
          url: custosUrl,
          paths: refs.map((ref) => `/v1/subjects/${ref}?purpose=support`),
          headers: auth,
          connections: 1,
          durationSeconds: duration,
        },
      ],
      [
        `GET /v1/subjects/{ref} (${refs.length} refs of ${subjectCount}, decrypt, audited)`,
        {
          url: custosUrl,
          paths: refs.map((ref) => `/v1/subjects/${ref}?purpose=support`),
          headers: auth,
          connections,
          durationSeconds: duration,
        },
      ],
      [
        `GET /v1/subjects/{ref}?purpose=marketing (consent checked, ${consented.length} refs)`,
        {
          url: custosUrl,
          paths: consented.map((ref) => `/v1/subjects/${ref}?purpose=marketing`),
          headers: auth,
          connections,
          durationSeconds: duration,
        },
      ],
      // Email marketing has no cap in the example policy, so allows keep reserving slots: the write path is measured.
      [
        `POST /v1/contacts/authorize (email, marketing, ${consented.length} refs)`,
        {
          url: `${custosUrl}/v1/contacts/authorize`,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          bodies: consented.map((ref) => JSON.stringify({ ref, channel: 'email', purpose: 'marketing', topic: 'cat-food' })),
          connections,
          durationSeconds: duration,
        },
      ],
      // An sms is capped (two a week per person) and checked against the do-not-call lists. Past two per person (the
      // first 2,000 requests), the cap refuses: this measures refusals.
      [
        `POST /v1/contacts/authorize (sms, marketing, capped, do-not-call checked, ${consented.length} refs)`,
        {
          url: `${custosUrl}/v1/contacts/authorize`,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          bodies: consented.map((ref) => JSON.stringify({ ref, channel: 'sms', purpose: 'marketing', topic: 'cat-food' })),
          connections,
          durationSeconds: duration,
        },
      ],
      // The same where the cap has room: each person is contacted at most twice, so every request is allowed
      // (on PostgreSQL: decided on one read, written by one statement whose guards check the lists and the slots).
      [
        `POST /v1/contacts/authorize (sms, marketing, capped, allowed: ${capRoom.length} refs, two each at most)`,
        {
          url: `${custosUrl}/v1/contacts/authorize`,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          bodies: capRoom.map((ref) => JSON.stringify({ ref, channel: 'sms', purpose: 'marketing', topic: 'cat-food' })),
          connections,
          durationSeconds: duration,
        },
      ],
      // Consent grants: across 3,000 people, then all on one person with a fresh ledger and one with 10,000 entries
      // (the kept state makes a write independent of the ledger's length: these two should match).
      [
        'PUT /v1/subjects/{ref}/consents/marketing (3,000 subjects)',
        {
          url: custosUrl,
          method: 'PUT',
          paths: refs.slice(1000, 4000).map((ref) => `/v1/subjects/${ref}/consents/marketing`),
          headers: { ...auth, 'content-type': 'application/json' },
          bodies: [JSON.stringify({ source: 'bench', noticeVersion: 'bench-2' })],
          connections,
          durationSeconds: duration,
        },
      ],
      [
        'consent grant, one subject with a fresh ledger',
        {
          url: `${custosUrl}/v1/subjects/${freshLedger}/consents/marketing`,
          method: 'PUT',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'bench', noticeVersion: 'bench-2' }),
          connections,
          durationSeconds: duration,
        },
      ],
      [
        'consent grant, one subject with 10,000 ledger entries',
        {
          url: `${custosUrl}/v1/subjects/${longLedger}/consents/marketing`,
          method: 'PUT',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'bench', noticeVersion: 'bench-2' }),
          connections,
          durationSeconds: duration,
        },
      ],
      // The same work whether or not the person is known (no enumeration): both figures should match.
      [
        `POST /v1/privacy-requests, identifiers Custos holds (outbox notifier)`,
        {
          url: `${custosUrl}/v1/privacy-requests`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          bodies: Array.from({ length: 5000 }, (_, i) => JSON.stringify({ type: 'access', identifier: { email: knownEmail(i % subjectCount) } })),
          connections,
          durationSeconds: duration,
        },
      ],
      [
        `POST /v1/privacy-requests, identifiers it does not hold`,
        {
          url: `${custosUrl}/v1/privacy-requests`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          bodies: Array.from({ length: 5000 }, (_, i) => JSON.stringify({ type: 'access', identifier: { email: `stranger.${i}@example.com` } })),
          connections,
          durationSeconds: duration,
        },
      ],
    ];
    // On PostgreSQL with pg_stat_statements loaded, each figure also says what the database did per request.
    const databaseWork = env.DATABASE_URL ? await openDatabaseWork(env.DATABASE_URL) : undefined;
    if (databaseWork) for (const [, options] of scenarios) options.databaseWork = databaseWork;
    else if (env.DATABASE_URL) console.log('pg_stat_statements is not loaded on this server: no per-request database figures');
    const figures: Figure[] = [];
    for (const [name, options] of scenarios) if (only.test(name)) figures.push(await measure(name, options));

    // Tree maintenance on and off, each on a freshly started gateway (on, off, on), so neither
    // inherits the other's warm or cold state; off = AUDIT_INTEGRATOR=false, events wait unplaced.
    const authorize = scenarios.find(([name]) => name.startsWith('POST /v1/contacts/authorize'))!;
    if (only.test(authorize[0])) {
      for (const integrate of [true, false, true]) {
        await gateway.process.stop();
        gateway = await startGateway({ AUDIT_INTEGRATOR: String(integrate) });
        figures.push(await measure(`authorize, fresh gateway, tree maintenance ${integrate ? 'on' : 'off'}`, { ...authorize[1], url: `${gateway.url}/v1/contacts/authorize` }));
      }
    }
    // The scale path's question: do more gateway processes on the same database add
    // throughput? The same load, split evenly over them (as a load balancer would).
    for (const count of [2, 4]) {
      const spread = `authorize, ${count} gateway processes (${Math.floor(connections / count)} connections each)`;
      if (!only.test(spread)) continue;
      const extra = await Promise.all(Array.from({ length: count - 1 }, () => startGateway()));
      const share = { ...authorize[1], connections: Math.floor(connections / count) };
      figures.push(
        await measureSpread(
          spread,
          [gateway, ...extra].map((g) => ({ ...share, url: `${g.url}/v1/contacts/authorize` })),
        ),
      );
      await Promise.all(extra.map((g) => g.process.stop()));
    }
    printTable(baseline, figures);
    await databaseWork?.close();
    if (only.test('healthz during scrub')) {
      const big = await healthzDuringBigScrub(gateway.url, token, allRefs);
      console.log(
        `GET /healthz while one ${big.bodyMb} MB scrub body is parsed, checked and scrubbed (HTTP ${big.status}, ${big.scrubMs} ms): ${big.samples} requests, p50 ${big.p50} ms, p99 ${big.p99} ms, max ${big.max} ms`,
      );
    }
    if (only.test('suppressions beside scrub')) {
      // The app's every ref, both ways (up to the scrub's 100,000 a request).
      const same = allRefs.slice(0, 100_000);
      for (const r of await suppressionsBesideScrub(gateway.url, token, same)) {
        console.log(
          `suppression list of ${same.length.toLocaleString('en')} refs (GET /v1/suppressions, NDJSON): ${r.listMs} ms, ${r.listed.toLocaleString('en')} listed; scrub of the same refs: ${r.scrubMs} ms, ${r.denied.toLocaleString('en')} denied (HTTP ${r.status.join('/')}); ratio list/scrub ${(r.listMs / r.scrubMs).toFixed(2)}`,
        );
      }
    }
    if (only.test('healthz during hostile bodies')) {
      const hostile = await healthzDuringHostileBodies(gateway.url, token);
      console.log(
        `GET /healthz while 3 unauthenticated and 3 authenticated hostile 8 MB bodies arrive (answers: ${hostile.anonymous.join(', ')} without a token, within ${hostile.anonymousMs} ms; ${hostile.signedIn.join(', ')} with one): ${hostile.samples} requests, p50 ${hostile.p50} ms, p99 ${hostile.p99} ms, max ${hostile.max} ms`,
      );
    }
    if (only.test('audit')) await benchAuditQueries(gateway.url, gateway.process.child.pid!, officer, auditSubjects, env);
    if (figures.some((f) => f.errors > 0 || f.non2xx > 0)) {
      console.error('Some requests failed; the figures above are not comparable.');
      process.exitCode = 1;
    }

    // do-not-call import while the gateway serves: duration, and the gateway's memory meanwhile.
    // The registry shares numbers with the seeded subjects (same prefixes; at 10M it covers every seeded number range), so the scrub below finds some listed.
    const registry = path.join(dataDir, 'registry.txt');
    const numbers = Number(process.env.BENCH_DNC_NUMBERS ?? 10_000_000);
    if (numbers === 0) return;
    await writeLines(registry, numbers, (i) => `1${['38', '39', '50', '86'][i % 4]}${String(i).padStart(8, '0')}`);
    const gatewayRss = rssSampler(gateway.process.child.pid!);
    const importStarted = Date.now();
    const imported = await runCustos(['dnc', 'import', registry, '--source', 'bench', '--json'], { env, timeoutMs: 30 * 60_000 });
    const report = JSON.parse(imported.stdout) as { accepted: number };
    console.log(
      `dnc import of ${numbers.toLocaleString('en')} numbers: ${((Date.now() - importStarted) / 1000).toFixed(1)} s (${report.accepted.toLocaleString('en')} accepted); gateway peak RSS meanwhile ${gatewayRss.peakMb()} MB`,
    );

    // A campaign of 100,000 refs against every seeded subject and the registry above (the rest of the refs are unknown and denied).
    const campaign = allRefs.slice(0, 100_000);
    while (campaign.length < 100_000) campaign.push(`ref_${String(campaign.length).padStart(22, 'x')}`);
    const scrubStarted = Date.now();
    const scrub = await fetch(`${gateway.url}/v1/contacts/scrub`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'sms', purpose: 'marketing', refs: campaign }),
    });
    const scrubbed = (await scrub.json()) as { allowed: string[]; denied: Array<{ reasons: Array<{ code: string }> }> };
    const listed = scrubbed.denied.filter((d) => d.reasons.some((r) => r.code === 'do-not-call')).length;
    console.log(
      `scrub of ${campaign.length.toLocaleString('en')} refs (${Math.min(allRefs.length, 100_000).toLocaleString('en')} known) against that registry: ${((Date.now() - scrubStarted) / 1000).toFixed(2)} s, ${scrubbed.allowed.length} allowed, ${scrubbed.denied.length} denied (${listed} on the do-not-call list) (HTTP ${scrub.status}); gateway peak RSS ${gatewayRss.peakMb()} MB`,
    );
    gatewayRss.stop();
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (env.DATABASE_URL) await dropSchema(env.DATABASE_URL);
  }
}

/** Officers' side of the trail at full size: search latency, proof latency, export memory, and `custos audit verify`. */
async function benchAuditQueries(url: string, pid: number, officer: { username: string; password: string }, subjects: string[], env: Record<string, string>): Promise<void> {
  const session = (await (await fetch(`${url}/v1/officers/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(officer) })).json()) as {
    access_token: string;
  };
  const auth = { authorization: `Bearer ${session.access_token}` };
  // Wait for the integrator to place what the scenarios above wrote.
  let size = 0;
  for (let previous = -1; size !== previous; await new Promise((r) => setTimeout(r, 1500))) {
    previous = size;
    size = ((await (await fetch(`${url}/v1/audit/tree-head`)).json()) as { treeSize: number }).treeSize;
  }
  const rows = [
    await measure(`GET /v1/audit/events?subject= (1 client, ${size.toLocaleString('en')} events)`, {
      url,
      paths: subjects.map((s) => `/v1/audit/events?subject=${s}&limit=50`),
      headers: auth,
      connections: 1,
      durationSeconds: duration,
    }),
    await measure(`GET /v1/audit/proofs/inclusion (1 client, tree of ${size.toLocaleString('en')})`, {
      url,
      paths: Array.from({ length: 5000 }, (_, i) => `/v1/audit/proofs/inclusion?index=${Math.floor((i * 7919 * 104729) % size)}&treeSize=${size}`),
      connections: 1,
      durationSeconds: duration,
    }),
  ];
  console.table(rows.map((f) => ({ scenario: f.name, 'req/s': f.requestsPerSecond, 'p50 ms': f.p50Ms, 'p97.5 ms': f.p975Ms, 'p99 ms': f.p99Ms, 'errors/non-2xx': `${f.errors}/${f.non2xx}` })));

  // Flat memory: the gateway's peak RSS after each quarter of the export stays where the first quarter left it.
  const rss = rssSampler(pid);
  const before = rss.peakMb();
  const exportStarted = Date.now();
  const response = await fetch(`${url}/v1/audit/events?format=ndjson`, { headers: auth });
  let bytes = 0;
  let lines = 0;
  const quarters: string[] = [];
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines += 1;
    if (lines >= ((quarters.length + 1) * size) / 4) quarters.push(rss.peakMb());
  }
  console.log(
    `export of ${lines.toLocaleString('en')} events as NDJSON: ${((Date.now() - exportStarted) / 1000).toFixed(1)} s, ${(bytes / 1048576).toFixed(0)} MB; gateway RSS ${before} MB before, peak after each quarter ${quarters.join(' / ')} MB`,
  );
  rss.stop();

  const verifyStarted = Date.now();
  const verified = await runCustos(['audit', 'verify', '--json'], { env, timeoutMs: 10 * 60_000 });
  const report = JSON.parse(verified.stdout) as { ok: boolean; treeSize: number; treeHeads: number };
  console.log(`custos audit verify over ${report.treeSize.toLocaleString('en')} events (${report.treeHeads} signed heads): ${((Date.now() - verifyStarted) / 1000).toFixed(1)} s, ok=${report.ok}`);
}

/** Writes `count` generated lines, respecting the stream's back-pressure. */
async function writeLines(file: string, count: number, line: (i: number) => string): Promise<void> {
  const out = fs.createWriteStream(file);
  for (let i = 0; i < count; i += 10_000) {
    const chunk = Array.from({ length: Math.min(10_000, count - i) }, (_, j) => `${line(i + j)}\n`).join('');
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
}

/** The highest resident set size of a process since the sampler started, read from /proc every 200 ms. */
function rssSampler(pid: number) {
  let peak = 0;
  const sample = () => {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
  };
  sample();
  const timer = setInterval(sample, 200);
  return { peakMb: () => (sample(), (peak / 1048576).toFixed(0)), stop: () => clearInterval(timer) };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
