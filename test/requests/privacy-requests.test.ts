import { createLocalJWKSet, jwtVerify } from 'jose';
import request from 'supertest';
import { zoneWhereItIs } from '../contacts/zones.ts';
import { appToken, auditEvents, createTestApp, createTestOfficer, officerToken, startTestGateway, systemContext, verifyLog, type TestGateway } from '../support/gateway.ts';

describe('customer privacy requests', () => {
  let gateway: TestGateway;
  let crm: string;
  let admin: string;
  let agent: string;
  let auditor: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ REQUESTS_RATE_LIMIT_PER_MINUTE: '1000' });
    crm = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support'], ['call', 'sms', 'email']));
    const officers = await Promise.all((['admin', 'privacy-agent', 'auditor'] as const).map((role) => createTestOfficer(gateway, role)));
    [admin, agent, auditor] = (await Promise.all(officers.map((o) => officerToken(gateway, o.username, o.password)))) as [string, string, string];
  });
  afterAll(() => gateway.close());

  const app = () => request(gateway.app);
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function person(phone: string, email: string, extra: Record<string, unknown> = {}): Promise<string> {
    const response = await app()
      .post('/v1/subjects')
      .set(bearer(crm))
      .send({ purpose: 'marketing', identifiers: { phone, email }, attributes: { name: 'Li Wei', pets: ['cat'] }, timezone: zoneWhereItIs(12), ...extra });
    expect(response.status).toBe(201);
    return response.body.ref as string;
  }

  const submit = (body: object, headers: Record<string, string> = {}) => app().post('/v1/privacy-requests').set(headers).send(body);

  /** The code, as the person reads it in the message the outbox holds. */
  async function codeOf(requestId: string): Promise<string> {
    const outbox = await app().get('/v1/notifier/outbox').query({ requestId }).set(bearer(admin));
    expect(outbox.status).toBe(200);
    return /code is (\d{6})/.exec(outbox.body.messages[0].text)![1]!;
  }

  async function verified(body: object): Promise<{ id: string; token: string; status: string }> {
    const submitted = await submit(body);
    expect(submitted.status).toBe(202);
    const verify = await app()
      .post(`/v1/privacy-requests/${submitted.body.id}/verify`)
      .set(bearer(submitted.body.statusToken))
      .send({ code: await codeOf(submitted.body.id) });
    expect(verify.status).toBe(200);
    return { id: submitted.body.id, token: submitted.body.statusToken, status: verify.body.status };
  }

  it('answers a known and an unknown identifier the same way, doing the same work', async () => {
    await person('13800138101', 'known@example.com');
    const known = await submit({ type: 'access', identifier: { phone: '13800138101' } });
    const unknown = await submit({ type: 'access', identifier: { phone: '13800138199' } });
    for (const answer of [known, unknown]) {
      expect(answer.status).toBe(202);
      expect(Object.keys(answer.body).sort()).toEqual(['dueAt', 'id', 'status', 'statusToken']);
      expect(answer.body.status).toBe('pending-verification');
      expect(answer.headers['cache-control']).toBe('no-store');
    }
    expect(Object.keys(known.headers).sort()).toEqual(Object.keys(unknown.headers).sort());
    // The same rows, steps, messages and audit events for both: nothing about subjects is read before verification.
    const work = async (id: string) => ({
      steps: (await gateway.runtime.db.read.privacyRequestStep.findMany({ where: { requestId: id } })).map((s) => s.step),
      messages: await gateway.runtime.db.read.notifierMessage.count({ where: { requestId: id } }),
      events: (await auditEvents(gateway)).filter((e) => e.actor.id === id).map((e) => [e.action, e.decision, e.subject]),
    });
    expect(await work(known.body.id)).toEqual(await work(unknown.body.id));
    expect((await work(known.body.id)).steps).toEqual(['submitted', 'code-sent']);
  });

  it('keeps the code only as a hash and the identifier only encrypted; the trail holds a pseudonym', async () => {
    const submitted = await submit({ type: 'access', identifier: { email: 'Canary.Person@Example.com' } });
    const code = await codeOf(submitted.body.id);
    const row = await gateway.runtime.db.read.privacyRequest.findUniqueOrThrow({ where: { id: submitted.body.id } });
    const stored = JSON.stringify(row) + JSON.stringify(await gateway.runtime.db.read.notifierMessage.findMany({ where: { requestId: submitted.body.id } }));
    expect(stored).not.toContain(code);
    expect(stored.toLowerCase()).not.toContain('canary.person');
    expect(stored).not.toContain(submitted.body.statusToken);
    const events = JSON.stringify(await auditEvents(gateway));
    expect(events.toLowerCase()).not.toContain('canary.person');
    expect(events).toContain(`email:${row.identifierDigest}`);
    expect(gateway.logs.join('\n').toLowerCase()).not.toContain('canary.person');
    expect(gateway.logs.join('\n')).not.toContain(code);
  });

  it('gives a verified person an export of everything held, with receipts, contacts and the access log', async () => {
    const ref = await person('13800138102', 'export.me@example.com');
    const grant = await app().put(`/v1/subjects/${ref}/consents/marketing`).set(bearer(crm)).send({ source: 'web-form', noticeVersion: 'n1' });
    expect(grant.status).toBe(200);
    await app().get(`/v1/subjects/${ref}`).query({ purpose: 'marketing' }).set(bearer(crm)).expect(200);
    const allow = await app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'email', purpose: 'marketing', topic: 'cat-food' });
    expect(allow.body.decision).toBe('allow');
    await gateway.runtime.auditIntegrator.flush();

    const done = await verified({ type: 'access', identifier: { phone: '+86 138 0013 8102' } });
    expect(done.status).toBe('completed');
    // Closed: the request no longer keeps the identifier, even encrypted.
    expect((await gateway.runtime.db.read.privacyRequest.findUniqueOrThrow({ where: { id: done.id } })).sealedIdentifier).toBeNull();
    const exported = await app().get(`/v1/privacy-requests/${done.id}/export`).set(bearer(done.token));
    expect(exported.status).toBe(200);
    expect(exported.headers['content-disposition']).toContain('attachment');
    const body = exported.body;
    expect(body.held).toBe(true);
    const field = (name: string) => body.fields.find((f: { field: string }) => f.field === name);
    expect(field('name')).toMatchObject({ value: 'Li Wei', heldFor: expect.arrayContaining([{ purpose: 'marketing', description: expect.any(String), basis: 'consent', retention: 'P2Y' }]) });
    expect(field('phone').value).toBe('+8613800138102');
    // Proving a phone number does not hand out the e-mail address held beside it.
    expect(field('email')).toMatchObject({ value: null, withheld: expect.stringContaining('did not verify') });
    expect(JSON.stringify(body)).not.toContain('export.me@example.com');
    const grantEntry = body.consents.history.find((h: { kind: string }) => h.kind === 'grant');
    const jwks = (await app().get('/.well-known/jwks.json')).body;
    const { payload } = await jwtVerify(grantEntry.receipt, createLocalJWKSet(jwks), { issuer: 'http://custos.test' });
    expect(payload.consentReceiptID).toBe(grantEntry.receiptId);
    expect(body.contacts).toEqual([expect.objectContaining({ app: 'Test app', channel: 'email', purpose: 'marketing', topic: 'cat-food' })]);
    const reads = body.accessLog.filter((e: { action: string }) => e.action === 'subjects.subject.read');
    expect(reads).toEqual([expect.objectContaining({ by: 'Test app', purpose: 'marketing', fields: ['name', 'pets'], decision: 'allow' })]);
    expect((await auditEvents(gateway, 'requests.export.read')).length).toBeGreaterThan(0);
  });

  it('gives a person Custos does not know a normal, empty export', async () => {
    const done = await verified({ type: 'access', identifier: { email: 'nobody.here@example.com' } });
    const exported = await app().get(`/v1/privacy-requests/${done.id}/export`).set(bearer(done.token));
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({ held: false, fields: [], contacts: [], accessLog: [], consents: { purposes: [], history: [] } });
  });

  it('applies an opt-out the moment the code is verified: authorize and scrub deny, the number is on the do-not-call list', async () => {
    const ref = await person('13800138103', 'optout@example.com');
    await app().put(`/v1/subjects/${ref}/consents/marketing`).set(bearer(crm)).send({ source: 'web-form', noticeVersion: 'n1' }).expect(200);
    const before = await app()
      .post('/v1/contacts/scrub')
      .set(bearer(crm))
      .send({ channel: 'email', purpose: 'marketing', refs: [ref] });
    expect(before.body.allowed).toEqual([ref]);

    const done = await verified({ type: 'opt-out', identifier: { phone: '13800138103' } });
    expect(done.status).toBe('completed');
    const call = await app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'call', purpose: 'marketing' });
    expect(call.body.decision).toBe('deny');
    expect(call.body.reasons.map((r: { code: string }) => r.code).sort()).toEqual(['do-not-call', 'opted-out']);
    const scrub = await app()
      .post('/v1/contacts/scrub')
      .set(bearer(crm))
      .send({ channel: 'email', purpose: 'marketing', refs: [ref] });
    expect(scrub.body.denied).toEqual([{ ref, reasons: [expect.objectContaining({ code: 'opted-out' })] }]);
    const listed = await app().get('/v1/dnc/check').query({ phone: '13800138103' }).set(bearer(agent));
    expect(listed.body).toEqual({ listed: true, sources: ['internal'] });
    const status = await app().get(`/v1/privacy-requests/${done.id}`).set(bearer(done.token));
    expect(status.body.steps.map((s: { step: string }) => s.step)).toEqual(['submitted', 'code-sent', 'verified', 'applied', 'completed']);
  });

  it('an opt-out of one topic withdraws only that topic and lists no number', async () => {
    const ref = await person('13800138104', 'birds@example.com');
    await app().put(`/v1/subjects/${ref}/consents/marketing`).set(bearer(crm)).send({ source: 'web-form', noticeVersion: 'n1' }).expect(200);
    await verified({ type: 'opt-out', identifier: { email: 'birds@example.com' }, scope: { topics: ['bird-food'] } });
    const bird = await app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'email', purpose: 'marketing', topic: 'bird-food' });
    expect(bird.body).toMatchObject({ decision: 'deny', reasons: [expect.objectContaining({ code: 'topic-opted-out' })] });
    const cat = await app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'email', purpose: 'marketing', topic: 'cat-food' });
    expect(cat.body.decision).toBe('allow');
    expect((await app().get('/v1/dnc/check').query({ phone: '13800138104' }).set(bearer(agent))).body.listed).toBe(false);
  });

  it('counts wrong codes and locks the request after five; a used code cannot be replayed; an expired code closes the request', async () => {
    const submitted = await submit({ type: 'access', identifier: { phone: '13800138105' } });
    const { id, statusToken } = submitted.body;
    const code = await codeOf(id);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let left = 4; left >= 1; left -= 1) {
      const answer = await app().post(`/v1/privacy-requests/${id}/verify`).send({ code: wrong });
      expect(answer.status).toBe(422);
      expect(answer.body).toMatchObject({ type: expect.stringContaining('wrong-code'), attemptsLeft: left });
    }
    const fifth = await app().post(`/v1/privacy-requests/${id}/verify`).send({ code: wrong });
    expect(fifth.status).toBe(409);
    expect(fifth.body.requestStatus).toBe('locked');
    // Even the right code is refused once locked.
    expect((await app().post(`/v1/privacy-requests/${id}/verify`).send({ code })).status).toBe(409);
    expect((await app().get(`/v1/privacy-requests/${id}`).set(bearer(statusToken))).body.status).toBe('locked');
    expect((await auditEvents(gateway, 'requests.request.lock')).some((e) => e.actor.id === id)).toBe(true);

    const used = await verified({ type: 'access', identifier: { phone: '13800138106' } });
    const replay = await app()
      .post(`/v1/privacy-requests/${used.id}/verify`)
      .send({ code: await codeOf(used.id) });
    expect(replay.status).toBe(409);

    const late = await submit({ type: 'access', identifier: { phone: '13800138107' } });
    const lateCode = await codeOf(late.body.id);
    await gateway.runtime.db.read.privacyRequest.update({ where: { id: late.body.id }, data: { codeExpiresAt: new Date(Date.now() - 1000) } });
    expect((await app().get(`/v1/privacy-requests/${late.body.id}`).set(bearer(late.body.statusToken))).body.status).toBe('expired');
    const expired = await app().post(`/v1/privacy-requests/${late.body.id}/verify`).send({ code: lateCode });
    expect(expired.status).toBe(409);
    expect(expired.body.requestStatus).toBe('expired');
  });

  it("answers another request's status token exactly like an unknown id", async () => {
    const mine = await submit({ type: 'access', identifier: { phone: '13800138108' } });
    const theirs = await submit({ type: 'access', identifier: { phone: '13800138109' } });
    const wrongToken = await app().get(`/v1/privacy-requests/${mine.body.id}`).set(bearer(theirs.body.statusToken));
    const unknownId = await app().get('/v1/privacy-requests/prq_AAAAAAAAAAAAAAAAAAAAAA').set(bearer(theirs.body.statusToken));
    expect(wrongToken.status).toBe(404);
    expect(unknownId.status).toBe(404);
    expect({ ...wrongToken.body, instance: undefined, requestId: undefined }).toEqual({ ...unknownId.body, instance: undefined, requestId: undefined });
    expect((await app().get(`/v1/privacy-requests/${mine.body.id}/export`)).status).toBe(401);
    expect((await app().post(`/v1/privacy-requests/${mine.body.id}/verify`).set(bearer(theirs.body.statusToken)).send({ code: '123456' })).status).toBe(404);
  });

  it('refuses bad submissions with the field named', async () => {
    const cases: Array<[object, number, string]> = [
      [{ type: 'delete-everything', identifier: { phone: '13800138110' } }, 400, 'type'],
      [{ type: 'opt-out', identifier: { phone: '13800138110' }, scope: { purposes: ['astrology'], channels: ['pigeon'], topics: ['fish-food'] } }, 400, 'scope.purposes[0]'],
      [{ type: 'opt-out', identifier: { phone: '13800138110' }, scope: { purposes: ['support'] } }, 422, 'support'],
      [{ type: 'correction', identifier: { phone: '13800138110' }, correction: { shoeSize: 42 } }, 422, 'correction.shoeSize'],
      [{ type: 'correction', identifier: { phone: '13800138110' } }, 400, 'correction'],
      [{ type: 'access', identifier: { phone: 'not a number' } }, 422, 'identifier.phone'],
      [{ type: 'access', identifier: { memberCard: 'M-1' } }, 400, 'identifier.memberCard'],
      [{ type: 'access', identifier: { phone: '13800138110', email: 'two@example.com' } }, 400, 'identifier'],
    ];
    for (const [body, status, named] of cases) {
      const answer = await submit(body);
      expect({ body, status: answer.status }).toEqual({ body, status });
      expect(answer.headers['content-type']).toContain('application/problem+json');
      expect(JSON.stringify(answer.body)).toContain(named);
    }
    const scope = await submit({ type: 'opt-out', identifier: { phone: '13800138110' }, scope: { purposes: ['astrology'], channels: ['pigeon'], topics: ['fish-food'] } });
    expect(scope.body.errors.map((e: { path: string }) => e.path)).toEqual(['scope.purposes[0]', 'scope.channels[0]', 'scope.topics[0]']);
    expect((await submit({ type: 'access', identifier: { phone: '13800138110' }, padding: 'x'.repeat(200_000) })).status).toBe(413);
  });

  it('limits requests for one identifier per hour with 429 and Retry-After, however they are written', async () => {
    const forms = ['13800138111', '+86 138 0013 8111', '+8613800138111'];
    for (const phone of forms) expect((await submit({ type: 'access', identifier: { phone } })).status).toBe(202);
    const fourth = await submit({ type: 'opt-out', identifier: { phone: '138-0013-8111' } });
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThan(3000);
  });

  it('a correction waits for an agent, goes through the vault and appears in the history', async () => {
    const ref = await person('13800138112', 'fix.me@example.com');
    const done = await verified({ type: 'correction', identifier: { phone: '13800138112' }, correction: { name: 'Li Wei-Min', email: 'Fixed@Example.com' } });
    expect(done.status).toBe('pending-approval');
    const queue = await app().get('/v1/privacy-requests').query({ status: 'pending-approval' }).set(bearer(agent));
    expect(queue.body.requests.map((r: { id: string }) => r.id)).toContain(done.id);
    expect(queue.body.requests.find((r: { id: string }) => r.id === done.id).correctionFields).toEqual(['name', 'email']);
    expect((await app().post(`/v1/privacy-requests/${done.id}/decision`).set(bearer(auditor)).send({ decision: 'approve', reason: 'ok' })).status).toBe(403);
    const decided = await app().post(`/v1/privacy-requests/${done.id}/decision`).set(bearer(agent)).send({ decision: 'approve', reason: 'the customer showed the right name' });
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('completed');
    const read = await app().get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set(bearer(crm));
    expect(read.body.attributes.name).toBe('Li Wei-Min');
    const history = await gateway.runtime.subjects.heldData((await gateway.runtime.subjects.subjectOfRef((await gateway.runtime.auth.listApps())[0]!.clientId, ref))!);
    expect(history!.history.filter((h) => h.field === 'email').map((h) => h.value)).toEqual(['fix.me@example.com', 'fixed@example.com']);
    expect((await auditEvents(gateway, 'subjects.subject.correct')).at(-1)).toMatchObject({ fields: ['email', 'name'] });
    expect((await app().post(`/v1/privacy-requests/${done.id}/decision`).set(bearer(agent)).send({ decision: 'approve', reason: 'again' })).status).toBe(409);
  });

  it('erasure: an agent may refuse with a reason; once approved the data and key are gone, the trail verifies, an opted-out number stays suppressed', async () => {
    const ref = await person('13800138113', 'erase.me@example.com');
    await app().put(`/v1/subjects/${ref}/consents/marketing`).set(bearer(crm)).send({ source: 'web-form', noticeVersion: 'n1' }).expect(200);
    await app().delete(`/v1/subjects/${ref}/consents/marketing`).set(bearer(crm)).send({ source: 'call-centre' }).expect(200);

    const held = await verified({ type: 'erasure', identifier: { email: 'erase.me@example.com' } });
    const refused = await app().post(`/v1/privacy-requests/${held.id}/decision`).set(bearer(agent)).send({ decision: 'reject', reason: 'legal hold: open insurance claim' });
    expect(refused.body).toMatchObject({ status: 'rejected', decisionReason: 'legal hold: open insurance claim' });
    expect((await app().get(`/v1/privacy-requests/${held.id}`).set(bearer(held.token))).body.decisionReason).toBe('legal hold: open insurance claim');
    await app().get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set(bearer(crm)).expect(200);

    const erase = await verified({ type: 'erasure', identifier: { email: 'erase.me@example.com' } });
    const approved = await app().post(`/v1/privacy-requests/${erase.id}/decision`).set(bearer(agent)).send({ decision: 'approve', reason: 'no hold' });
    expect(approved.body.status).toBe('completed');
    expect((await app().get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set(bearer(crm))).status).toBe(404);
    expect((await app().get(`/v1/subjects/${ref}/consents`).set(bearer(crm))).status).toBe(404);
    expect((await app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'call', purpose: 'support' })).status).toBe(404);
    expect((await app().get('/v1/subjects/lookup').query({ purpose: 'marketing', phone: '13800138113' }).set(bearer(crm))).status).toBe(404);
    const listed = await app().get('/v1/dnc/check').query({ phone: '13800138113' }).set(bearer(agent));
    expect(listed.body.listed).toBe(true);
    const erasedEvent = (await auditEvents(gateway, 'requests.subject.erase')).at(-1)!;
    expect(await gateway.runtime.db.read.subject.count({ where: { id: erasedEvent.subject! } })).toBe(0);
    expect(await gateway.runtime.db.read.consentEvent.count({ where: { subjectId: erasedEvent.subject! } })).toBe(0);
    expect(await gateway.runtime.db.read.subjectChange.count({ where: { subjectId: erasedEvent.subject! } })).toBe(0);
    expect((await verifyLog(gateway)).ok).toBe(true);
  });

  it('shows officers the queue by due date, flags overdue requests, pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await submit({ type: 'access', identifier: { email: `queue${i}@example.com` } })).body.id);
    await gateway.runtime.db.read.privacyRequest.update({ where: { id: ids[2]! }, data: { dueAt: new Date(Date.now() - 86_400_000) } });
    const overdue = await app().get('/v1/privacy-requests').query({ overdue: 'true' }).set(bearer(agent));
    expect(overdue.status).toBe(200);
    expect(overdue.body.requests.map((r: { id: string }) => r.id)).toEqual([ids[2]]);
    expect(overdue.body.requests[0].overdue).toBe(true);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await app()
        .get('/v1/privacy-requests')
        .query({ limit: 4, ...(cursor ? { cursor } : {}) })
        .set(bearer(agent));
      expect(page.status).toBe(200);
      seen.push(...page.body.requests.map((r: { id: string; dueAt: string }) => `${r.dueAt}|${r.id}`));
      cursor = page.body.next ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(await gateway.runtime.db.read.privacyRequest.count());
    expect((await app().get('/v1/privacy-requests').set(bearer(auditor))).status).toBe(403);
    expect((await app().get('/v1/privacy-requests').query({ cursor: 'bogus' }).set(bearer(agent))).status).toBe(400);
    const officerView = await app().get(`/v1/privacy-requests/${ids[0]}`).set(bearer(agent));
    expect(officerView.body.steps.length).toBeGreaterThan(0);
  });

  it('retention erases subjects whose every purpose ran out, through the erasure path; a dry run only counts', async () => {
    const stale = await person('13800138114', 'stale@example.com');
    const kept = await person('13800138115', 'kept@example.com');
    await app()
      .patch(`/v1/subjects/${kept}`)
      .set(bearer(crm))
      .send({ purpose: 'support', attributes: { name: 'Kept by contract' } })
      .expect(200);
    const later = new Date(Date.now() + 3 * 365 * 86_400_000);
    const ctx = systemContext(gateway);
    const dry = await gateway.runtime.runRetention(ctx, { dryRun: true, now: later });
    expect(dry.byPurpose.marketing).toBeGreaterThan(0);
    expect(dry.byPurpose.support).toBeUndefined();
    expect(JSON.stringify(dry)).not.toMatch(/@|\+86/);
    await app().get(`/v1/subjects/${stale}`).query({ purpose: 'support' }).set(bearer(crm)).expect(200);
    const run = await gateway.runtime.runRetention(ctx, { dryRun: false, now: later });
    expect(run.subjects).toBe(dry.subjects);
    expect((await app().get(`/v1/subjects/${stale}`).query({ purpose: 'support' }).set(bearer(crm))).status).toBe(404);
    await app().get(`/v1/subjects/${kept}`).query({ purpose: 'support' }).set(bearer(crm)).expect(200);
    expect((await auditEvents(gateway, 'retention.subject.erase')).length).toBe(run.subjects);
    expect((await verifyLog(gateway)).ok).toBe(true);
  });

  it('records Sec-GPC: 1 on the submission and applies it once verified', async () => {
    const submitted = await submit({ type: 'access', identifier: { phone: '13800138116' } }, { 'Sec-GPC': '1' });
    const verify = await app()
      .post(`/v1/privacy-requests/${submitted.body.id}/verify`)
      .send({ code: await codeOf(submitted.body.id) });
    expect(verify.body.gpc).toBe(true);
    expect(verify.body.steps.map((s: { step: string }) => s.step)).toContain('gpc-applied');
  });

  it('every step is in the audit trail, as the customer acting on their request', async () => {
    const actions = new Set((await auditEvents(gateway)).filter((e) => e.actor.type === 'customer').map((e) => e.action));
    for (const action of [
      'requests.request.submit',
      'requests.code.send',
      'requests.request.verify',
      'requests.request.lock',
      'requests.optout.apply',
      'requests.export.read',
      'requests.request.expire',
    ])
      expect(actions).toContain(action);
    const officerActions = new Set((await auditEvents(gateway)).filter((e) => e.actor.type === 'officer').map((e) => e.action));
    for (const action of ['requests.request.approve', 'requests.request.reject', 'requests.subject.erase', 'requests.queue.list', 'notifier.outbox.read']) expect(officerActions).toContain(action);
  });
});
