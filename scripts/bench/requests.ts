import { performance } from 'node:perf_hooks';
import { appendAuditEvents } from '../../src/modules/audit/service.ts';
import type { AuditEventInput } from '../../src/modules/audit/schema.ts';
import type { Runtime } from '../../src/runtime.ts';

/**
 * The time to build one person's access export when the audit trail holds
 * `events` events about them (appended through the real path and placed in
 * the log first), after the request was submitted and verified as a customer would.
 */
export async function accessExportFigure(runtime: Runtime, appId: string, email: string, events: number): Promise<{ accessLog: number; milliseconds: number }> {
  const ctx = { actor: { type: 'system' as const, id: 'bench' }, requestId: 'bench-export', policyVersion: runtime.loaded.version };
  const [subject] = await runtime.subjects.subjectsWithIdentifier('email', email);
  if (!subject) throw new Error(`no seeded subject holds ${email}`);
  const appCtx = { ...ctx, actor: { type: 'app' as const, id: appId } };
  for (let done = 0; done < events; done += 5000) {
    const batch: AuditEventInput[] = Array.from({ length: Math.min(5000, events - done) }, (_, i) =>
      i % 2 === 0
        ? { action: 'subjects.subject.read', decision: 'allow', subject, purpose: 'support', fields: ['name'], reasons: [{ code: 'not-consent-based' }] }
        : { action: 'contacts.authorize', decision: 'allow', subject, purpose: 'marketing', reasons: [] },
    );
    await runtime.db.transaction((tx) => appendAuditEvents(tx, appCtx, batch));
  }
  await runtime.auditIntegrator.flush();
  const submitted = await runtime.requests.submit(ctx, { type: 'access', identifier: { email } }, { gpc: false, address: '198.51.100.7' });
  const { messages } = await runtime.notifier.outbox(ctx, { requestId: submitted.id, limit: 1 });
  const code = /(\d{6})/.exec(messages[0]!.text)![1]!;
  await runtime.requests.verify(ctx, submitted.id, code, submitted.statusToken);
  const started = performance.now();
  const exported = await runtime.requests.exportFor(ctx, submitted.id, submitted.statusToken);
  return { accessLog: exported.accessLog.length, milliseconds: Math.round(performance.now() - started) };
}

/**
 * /healthz latency (one client, back to back) while one 8 MB scrub body is
 * parsed, inspected and scrubbed: a large body must not stall the event loop.
 */
export async function healthzDuringBigScrub(
  url: string,
  token: string,
  refs: string[],
): Promise<{ bodyMb: number; scrubMs: number; status: number; samples: number; p50: number; p99: number; max: number }> {
  // 100,000 refs padded to 78 characters: about 8 MB of JSON, under the route's 8 MiB limit. Unknown refs are denied, which is fine here.
  const campaign = Array.from({ length: 100_000 }, (_, i) => (refs[i] ?? `ref_${String(i).padStart(22, 'x')}`).padEnd(78, 'x'));
  const body = JSON.stringify({ channel: 'email', purpose: 'marketing', refs: campaign });
  const latencies: number[] = [];
  let done = false;
  const started = performance.now();
  const scrub = fetch(`${url}/v1/contacts/scrub`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body }).then(async (r) => {
    await r.arrayBuffer();
    done = true;
    return r.status;
  });
  while (!done) {
    const t = performance.now();
    await (await fetch(`${url}/healthz`)).arrayBuffer();
    latencies.push(performance.now() - t);
  }
  const status = await scrub;
  const scrubMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  return { bodyMb: Math.round((body.length / 1e6) * 10) / 10, scrubMs: Math.round(scrubMs), status, samples: latencies.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

/**
 * /healthz latency while hostile 8 MB bodies arrive at the scrub route: three
 * without a token (each must get its 401 before its body is read) and three
 * with one (64,000 arrays nested 59 deep: refused by the node count before
 * any parsing). Answers the /healthz figures and each hostile answer.
 */
export async function healthzDuringHostileBodies(
  url: string,
  token: string,
): Promise<{ samples: number; p50: number; p99: number; max: number; anonymous: number[]; signedIn: number[]; anonymousMs: number }> {
  const hostile = `[${Array.from({ length: 64_000 }, () => '['.repeat(59) + ']'.repeat(59)).join(',')}]`;
  const send = (auth: boolean) =>
    fetch(`${url}/v1/contacts/scrub`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) }, body: hostile })
      .then(async (r) => (await r.arrayBuffer(), r.status))
      .catch(() => 0);
  const latencies: number[] = [];
  let done = false;
  const started = performance.now();
  const anonymous = Promise.all([1, 2, 3].map(() => send(false))).then((statuses) => ({ statuses, ms: performance.now() - started }));
  const all = Promise.all([anonymous, Promise.all([1, 2, 3].map(() => send(true)))]).finally(() => (done = true));
  while (!done) {
    const t = performance.now();
    await (await fetch(`${url}/healthz`)).arrayBuffer();
    latencies.push(performance.now() - t);
  }
  const [anon, signedIn] = await all;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  return { samples: latencies.length, p50: at(0.5), p99: at(0.99), max: at(1), anonymous: anon.statuses, signedIn, anonymousMs: Math.round(anon.ms) };
}

/**
 * A subject whose consent ledger holds `entries` entries (alternating topic
 * withdrawals and grants, appended in large transactions), with its kept state
 * folded as Custos does for old ledgers: the long-history consent scenario.
 */
export async function subjectWithLongLedger(runtime: Runtime, appId: string, ref: string, entries: number): Promise<void> {
  const { appendLedger, ledgerStates } = await import('../../src/modules/consent/store.ts');
  const { emptyConsent } = await import('../../src/modules/consent/state.ts');
  const subjectId = (await runtime.subjects.subjectOfRef(appId, ref))!;
  const start = Date.now() - entries * 1000;
  for (let done = 0; done < entries;) {
    await runtime.db.transaction(async (tx) => {
      await ledgerStates(tx, subjectId, ['marketing']);
      for (let i = 0; i < 2000 && done < entries; i++, done++) {
        const grant = done % 2 === 0;
        appendLedger(
          tx,
          subjectId,
          {
            id: `bench-${done}-${ref}`,
            purpose: 'marketing',
            kind: grant ? 'grant' : 'withdraw',
            channels: null,
            topics: grant ? null : ['bird-food'],
            recipients: null,
            source: 'bench',
            noticeVersion: grant ? 'bench-1' : null,
            expiresAt: null,
            gpc: false,
            receiptId: null,
            actorId: appId,
            requestId: 'bench',
            at: new Date(start + done * 1000),
          },
          (kept) => kept ?? emptyConsent('marketing'),
        );
      }
    });
  }
  // The kept state is dropped and folded from the ledger, as for a ledger written before 0011.
  await runtime.db.transaction((tx) => tx.consentState.deleteMany({ where: { subjectId } }));
  await runtime.consent.foldLegacyLedgers();
}

/**
 * A suppression list of an app's refs (GET /v1/suppressions, streamed
 * NDJSON) beside a scrub of the same refs (POST /v1/contacts/scrub), in
 * turns, so the two share the machine's state: the same decisions and audit
 * events, one asked for with the list in the body, one without.
 */
export async function suppressionsBesideScrub(
  url: string,
  token: string,
  refs: string[],
  rounds = 3,
): Promise<Array<{ scrubMs: number; listMs: number; listed: number; denied: number; status: [number, number] }>> {
  const auth = { authorization: `Bearer ${token}` };
  const out = [];
  for (let round = 0; round < rounds; round++) {
    const scrubStarted = performance.now();
    const scrub = await fetch(`${url}/v1/contacts/scrub`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'sms', purpose: 'marketing', refs }),
    });
    const scrubbed = (await scrub.json()) as { denied: unknown[] };
    const scrubMs = performance.now() - scrubStarted;
    const listStarted = performance.now();
    const list = await fetch(`${url}/v1/suppressions?channel=sms&purpose=marketing`, { headers: auth });
    const text = await list.text();
    const listMs = performance.now() - listStarted;
    const lines = text.split('\n').filter(Boolean);
    out.push({ scrubMs: Math.round(scrubMs), listMs: Math.round(listMs), listed: lines.length - 1, denied: scrubbed.denied.length, status: [scrub.status, list.status] as [number, number] });
  }
  return out;
}
