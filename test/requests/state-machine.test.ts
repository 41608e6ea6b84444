import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
// The schemas register their OpenAPI descriptions as they load: zod needs the extension first, as in the app.
import '../../src/http/openapi.ts';
import type { AuditGroupCommit } from '../../src/modules/audit/group-commit.ts';
import type { AuditEventInput } from '../../src/modules/audit/schema.ts';
import type { Notifier } from '../../src/modules/notifier/service.ts';
import { loadPolicy } from '../../src/modules/policies/load.ts';
import { normalizeIdentifier } from '../../src/modules/pseudonyms/normalize.ts';
import type { IdentifierPseudonyms } from '../../src/modules/pseudonyms/identifiers.ts';
import type { RequestActions } from '../../src/modules/requests/apply.ts';
import { CODE_MAX_ATTEMPTS } from '../../src/modules/requests/secrets.ts';
import { createRequestService } from '../../src/modules/requests/service.ts';
import { Unavailable } from '../../src/shared/errors.ts';
import type { RequestContext } from '../../src/shared/request-context.ts';
import { whenClockIsLater } from '../support/clock.ts';
import { createFakeDatabase } from '../support/fakes/fake-database.ts';
import { createFakeRequestStore } from '../support/fakes/fake-request-store.ts';

/**
 * The privacy-request state machine on in-memory fakes (no database, no
 * HTTP): every transition and race of one request, fast. The same service
 * runs on the real stores in test/requests/privacy-requests.test.ts and the
 * erasure races.
 */
describe('privacy request state machine (fakes)', () => {
  const { policy } = loadPolicy(path.join(__dirname, '..', '..', 'policies'));
  const ctx: RequestContext = { actor: { type: 'anonymous' }, requestId: 'req-test', policyVersion: 'test' };
  const agent: RequestContext = { actor: { type: 'officer', id: 'off_agent' }, requestId: 'req-agent', policyVersion: 'test' };

  function machine(options: { perIdentifierPerHour?: number; erase?: () => Promise<number> } = {}) {
    const store = createFakeRequestStore();
    const db = createFakeDatabase([store]);
    const events: Array<AuditEventInput & { actor: string }> = [];
    const record = async (c: RequestContext, input: AuditEventInput) => void events.push({ ...input, actor: c.actor.type });
    const audit = {
      record,
      refuse: async (c: RequestContext, event: Omit<AuditEventInput, 'decision'>, error: Error) => {
        await record(c, { ...event, decision: 'deny' });
        throw error;
      },
      unlessErased: <T>(_c: RequestContext, _e: unknown, write: Promise<T>) => write,
    } as unknown as AuditGroupCommit;
    const messages: Array<{ requestId: string; to: string; text: string }> = [];
    const notifier = { enqueue: async (_tx: unknown, m: { requestId: string; to: string; text: string }) => (messages.push(m), `msg_${messages.length}`) } as unknown as Notifier;
    const pseudonyms = {
      normalize: (field: string, raw: string) => normalizeIdentifier(policy.fields[field]!, raw, policy.defaults.region),
      currentDigest: async (kind: string, value: string) => ({ keyVersion: 1, digest: createHash('sha256').update(`${kind}:${value}`).digest('hex') }),
    } as unknown as IdentifierPseudonyms;
    const effects = { erased: 0, corrected: 0, optedOut: 0 };
    const actions = {
      subjectsOf: async () => ['sub_person'],
      applyGpc: async () => 0,
      applyOptOut: async () => (effects.optedOut++, { withdrawn: 1, doNotCall: true }),
      applyCorrection: async () => (effects.corrected++, ['name']),
      erase: options.erase ?? (async () => (effects.erased++, 1)),
      buildExport: async () => ({ held: true, fields: [], consents: {}, contacts: [], accessLog: [] }),
    } as unknown as RequestActions;
    const service = createRequestService({
      db,
      policy,
      audit,
      pseudonyms,
      notifier,
      actions,
      sealingKey: randomBytes(32),
      secretKey: randomBytes(32),
      settings: { perIdentifierPerHour: options.perIdentifierPerHour ?? 3, perIdentifierCeilingPerHour: 10 },
      store,
    });
    const codeFor = (id: string) => /code is (\d{6})/.exec(messages.find((m) => m.requestId === id)!.text)![1]!;
    return { service, store, db, events, messages, effects, codeFor };
  }

  async function verified(m: ReturnType<typeof machine>, type: 'access' | 'erasure' | 'correction', phone = '13800138000') {
    const submitted = await m.service.submit(ctx, { type, identifier: { phone }, ...(type === 'correction' ? { correction: { name: 'Li Na' } } : {}) }, { gpc: false, address: '198.51.100.7' });
    const view = await m.service.verify(ctx, submitted.id, m.codeFor(submitted.id), submitted.statusToken);
    return { ...submitted, view };
  }

  it('sends one code to the identifier, and completes an access request on verification without an agent', async () => {
    const m = machine();
    const { id, view } = await verified(m, 'access');
    expect(m.messages.map((x) => x.to)).toEqual(['+8613800138000']);
    expect(view.status).toBe('completed');
    expect(view.steps.map((s) => s.step)).toEqual(['submitted', 'code-sent', 'verified', 'export-ready', 'completed']);
    expect(m.store.rows.get(id)!.sealedIdentifier).toBeNull();
  });

  it(`locks a request after ${CODE_MAX_ATTEMPTS} wrong codes, and the right code no longer works`, async () => {
    const m = machine();
    const { id, statusToken } = await m.service.submit(ctx, { type: 'access', identifier: { phone: '13800138001' } }, { gpc: false, address: '198.51.100.7' });
    const right = m.codeFor(id);
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 1; i < CODE_MAX_ATTEMPTS; i++) await expect(m.service.verify(ctx, id, wrong, statusToken)).rejects.toMatchObject({ status: 422 });
    await expect(m.service.verify(ctx, id, wrong, statusToken)).rejects.toMatchObject({ status: 409 });
    await expect(m.service.verify(ctx, id, right, statusToken)).rejects.toMatchObject({ status: 409 });
    expect(m.store.rows.get(id)).toMatchObject({ status: 'locked', codeHash: null, sealedIdentifier: null, codeAttempts: CODE_MAX_ATTEMPTS });
    // Events appended inside a transaction are its last writes: the audit rows the fake database kept.
    const appended = m.db.committed.flat().filter((w) => w.sql.startsWith('INSERT INTO audit_event'));
    expect(appended.flatMap((w) => w.params).filter((p) => p === 'requests.request.lock')).toHaveLength(1);
  });

  it('refuses a fourth request for one identifier within the hour, audited, and counts none of the refused', async () => {
    const m = machine({ perIdentifierPerHour: 3 });
    for (let i = 0; i < 3; i++) await m.service.submit(ctx, { type: 'access', identifier: { phone: '13800138002' } }, { gpc: false, address: '198.51.100.7' });
    await expect(m.service.submit(ctx, { type: 'access', identifier: { phone: '13800138002' } }, { gpc: false, address: '198.51.100.7' })).rejects.toMatchObject({ status: 429 });
    expect(m.store.rows.size).toBe(3);
    expect(m.events.filter((e) => e.decision === 'deny').map((e) => e.reasons?.[0]?.code)).toEqual(['rate-limited']);
  });

  it("someone else's three requests for a number do not use up its owner's own; the ceiling over every address still bounds the messages", async () => {
    const m = machine({ perIdentifierPerHour: 3 });
    const phone = { phone: '13800138003' };
    const from = (address: string) => m.service.submit(ctx, { type: 'access', identifier: phone }, { gpc: false, address });
    for (let i = 0; i < 3; i++) await from('203.0.113.66');
    await expect(from('203.0.113.66')).rejects.toMatchObject({ status: 429 });
    // The person, from their own address, still reaches their request.
    const own = await from('198.51.100.20');
    expect(own.status).toBe('pending-verification');
    // Many addresses together stop at the ceiling (10 an hour): the number gets no more than 10 messages.
    for (let i = 0; i < 6; i++) await from(`192.0.2.${i}`);
    await expect(from('192.0.2.200')).rejects.toMatchObject({ status: 429 });
    expect(m.messages.filter((x) => x.to === '+8613800138003')).toHaveLength(10);
    // No address is stored, only its keyed hash.
    expect(JSON.stringify([...m.store.rows.values()])).not.toMatch(/203\.0\.113|198\.51\.100|192\.0\.2/);
  });

  it('an approval and a rejection at once: exactly one wins, and only an approval erases', async () => {
    for (const first of ['approve', 'reject'] as const) {
      const m = machine();
      const { id, view } = await verified(m, 'erasure');
      expect(view.status).toBe('pending-approval');
      const second: 'approve' | 'reject' = first === 'approve' ? 'reject' : 'approve';
      const outcomes = await Promise.allSettled([first, second].map((decision) => m.service.decide(agent, id, { decision, reason: `${decision} it` })));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ status: 409 });
      expect(m.store.rows.get(id)!.status).toBe(first === 'approve' ? 'completed' : 'rejected');
      expect(m.effects.erased).toBe(first === 'approve' ? 1 : 0);
    }
  });

  it('records the decision before its effect: an erasure that fails leaves the request approved, and the sweep completes it once', async () => {
    let attempts = 0;
    const m = machine({
      erase: async () => {
        attempts += 1;
        if (attempts === 1) throw new Unavailable();
        return 1;
      },
    });
    const { id } = await verified(m, 'erasure');
    await expect(m.service.decide(agent, id, { decision: 'approve', reason: 'asked' })).rejects.toMatchObject({ status: 503 });
    expect(m.store.rows.get(id)!.status).toBe('approved');
    // Another agent cannot reverse a decision that stands.
    await expect(m.service.decide(agent, id, { decision: 'reject', reason: 'too late' })).rejects.toMatchObject({ status: 409 });
    // The sweep carries on requests approved more than a minute ago; the clock moves instead of the test waiting.
    const swept = await whenClockIsLater(120_000, () => m.service.sweep(ctx));
    expect(swept.advanced).toBe(1);
    expect(m.store.rows.get(id)!.status).toBe('completed');
    expect(attempts).toBe(2);
    expect((await m.service.sweep(ctx)).advanced).toBe(0);
    expect(m.store.steps.get(id)!.map((s) => s.step)).toEqual(['submitted', 'code-sent', 'verified', 'pending-approval', 'approved', 'erased', 'completed']);
  });

  it('applies an approved correction once, and closes the request with its identifier forgotten', async () => {
    const m = machine();
    const { id } = await verified(m, 'correction');
    const view = await m.service.decide(agent, id, { decision: 'approve', reason: 'checked' });
    expect(view.status).toBe('completed');
    expect(m.effects.corrected).toBe(1);
    expect(m.store.rows.get(id)!.sealedIdentifier).toBeNull();
  });
});
