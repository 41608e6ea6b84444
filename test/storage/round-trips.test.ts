import pg from 'pg';
import request from 'supertest';
import { appToken, createTestApp, createTestOfficer, databaseKind, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * Statements sent to PostgreSQL per request, counted at the driver (every
 * pg.Client query, BEGIN and COMMIT included): each one is a round trip. The
 * budgets are today's counts for one request on its own (under load,
 * concurrent requests share transactions and statements, so fewer); a change
 * that adds a round trip to a hot path fails here and has to say why.
 */
const onPostgres = databaseKind === 'postgresql' ? describe : describe.skip;

/** A zone where it is daytime now, so quiet hours do not decide the contact. */
const dayZone = Intl.supportedValuesOf('timeZone').find((zone) => {
  const hour = Number(new Intl.DateTimeFormat('en', { timeZone: zone, hour: 'numeric', hourCycle: 'h23' }).format(new Date()));
  return hour >= 10 && hour < 16;
})!;

onPostgres('round trips to PostgreSQL per request', () => {
  let gateway: TestGateway;
  let token: string;
  let ref: string;
  const sent: string[] = [];
  const query = pg.Client.prototype.query;

  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_INTEGRATOR: 'false' });
    token = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support'], ['call']));
    const written = await request(gateway.app)
      .post('/v1/subjects')
      .set('Authorization', `Bearer ${token}`)
      .send({ purpose: 'marketing', identifiers: { phone: '13800138555' }, attributes: { name: 'Round Trip' }, timezone: dayZone })
      .expect(201);
    ref = written.body.ref;
    await request(gateway.app).put(`/v1/subjects/${ref}/consents/marketing`).set('Authorization', `Bearer ${token}`).send({ source: 'web-form', noticeVersion: 'n1' }).expect(200);
    // Count every statement any pooled connection sends from here on.
    pg.Client.prototype.query = function (this: pg.Client, ...args: Parameters<typeof query>) {
      const first = args[0] as unknown as string | { text?: string };
      sent.push(typeof first === 'string' ? first : (first?.text ?? '?'));
      return (query as (...a: unknown[]) => ReturnType<typeof query>).apply(this, args);
    } as typeof query;
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    await gateway.close();
  });

  /** The statements of one call, after a first call has filled the caches (token, app, key version). */
  async function statementsOf(call: () => Promise<unknown>): Promise<string[]> {
    await call();
    sent.length = 0;
    await call();
    return [...sent];
  }

  const api = () => ({
    read: (purpose: string) => request(gateway.app).get(`/v1/subjects/${ref}`).query({ purpose }).set('Authorization', `Bearer ${token}`).expect(200),
    authorize: (purpose: string, channel: string) => request(gateway.app).post('/v1/contacts/authorize').set('Authorization', `Bearer ${token}`).send({ ref, channel, purpose }).expect(200),
    grant: () => request(gateway.app).put(`/v1/subjects/${ref}/consents/marketing`).set('Authorization', `Bearer ${token}`).send({ source: 'web-form', noticeVersion: 'n2' }).expect(200),
  });
  const verbs = (statements: string[]) => statements.map((s) => s.split(/\s+/)[0]);

  it('reads a subject with its audit event in two round trips: the joined read, then the event on its own (no transaction)', async () => {
    expect(verbs(await statementsOf(() => api().read('support')))).toEqual(['SELECT', 'INSERT']);
    // A consent-based purpose: the consent module's kept state is a column of the same read.
    const consented = await statementsOf(() => api().read('marketing'));
    expect(verbs(consented)).toEqual(['SELECT', 'INSERT']);
    expect(consented[0]).toContain('FROM consent_state');
  });

  it('authorizes a contact in two round trips, capped or not, do-not-call lists checked or not', async () => {
    // An e-mail under consent, which no cap limits: ref, subject and consent in one read, then the
    // reservation and its event in one statement, with no lock and no transaction around it.
    const allowed = await statementsOf(() => api().authorize('marketing', 'email'));
    expect(verbs(allowed)).toEqual(['SELECT', 'WITH']);
    expect(allowed[1]).toMatch(/^WITH w0 AS \(INSERT INTO contact_reservation .*\) INSERT INTO audit_event /s);
    // An sms, capped at two a week: both allowed. The read also brings the subject's slots on the channel;
    // the write's guards check, as it commits, that no do-not-call list holds the number (under any key
    // version) and, under the subject's lock, that its slots are still those counted.
    const capped = await statementsOf(() => api().authorize('marketing', 'sms'));
    expect(verbs(capped)).toEqual(['SELECT', 'WITH']);
    expect(capped[0]).toMatch(/json_agg\(json_build_array\(ticket, purpose/);
    expect(capped[1]).toMatch(/^WITH w0 AS \(INSERT INTO contact_reservation .*\), w1 AS \(INSERT INTO audit_event .*\) SELECT custos_require\(.*FROM dnc_entry.*custos_recheck_locked\(/s);
    // A call: the daily cap refuses the second. A refusal writes no slot, so it needs no guard: the number
    // is looked up so that every reason is given, and the event is written with the group's.
    const refused = await statementsOf(() => api().authorize('marketing', 'call'));
    expect(verbs(refused)).toEqual(['SELECT', 'WITH', 'INSERT']);
  });

  it('decides again under the lock when a guard refuses the write: the number is on a do-not-call list', async () => {
    const agent = await createTestOfficer(gateway, 'privacy-agent');
    const officer = await officerToken(gateway, agent.username, agent.password);
    const listed = await request(gateway.app)
      .post('/v1/subjects')
      .set('Authorization', `Bearer ${token}`)
      .send({ purpose: 'marketing', identifiers: { phone: '13800138556' }, timezone: dayZone })
      .expect(201);
    await request(gateway.app).put(`/v1/subjects/${listed.body.ref}/consents/marketing`).set('Authorization', `Bearer ${token}`).send({ source: 'web-form', noticeVersion: 'n1' }).expect(200);
    await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: '13800138556' }).expect(201);
    sent.length = 0;
    const answer = await request(gateway.app).post('/v1/contacts/authorize').set('Authorization', `Bearer ${token}`).send({ ref: listed.body.ref, channel: 'sms', purpose: 'marketing' }).expect(200);
    expect(answer.body.decision).toBe('deny');
    expect(answer.body.reasons.map((r: { code: string }) => r.code)).toEqual(['do-not-call']);
    // The guarded write was refused and rolled back whole; the decision was taken again under the lock, with the number looked up.
    expect(verbs(sent)).toEqual(['SELECT', 'WITH', 'WITH', 'BEGIN', 'SELECT', 'SELECT', 'INSERT', 'COMMIT']);
    const subject = await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref: listed.body.ref } });
    expect(await gateway.runtime.db.read.contactReservation.count({ where: { subjectId: subject.subjectId } })).toBe(0);
    const events = await gateway.runtime.db.read.auditEvent.findMany({ where: { subject: subject.subjectId, action: 'contacts.authorize' } });
    expect(events.map((e) => e.decision)).toEqual(['deny']);
  });

  it('grants a consent in six round trips, whatever the length of the ledger', async () => {
    // The ref; then BEGIN, the subject's lock, the kept state with the ledger's last number, the entry with
    // the state and the event as one statement, COMMIT.
    const statements = await statementsOf(api().grant);
    expect(verbs(statements)).toEqual(['SELECT', 'BEGIN', 'SELECT', 'SELECT', 'WITH', 'COMMIT']);
    expect(statements[4]).toMatch(/^WITH w0 AS \(INSERT INTO consent_event .*\), w1 AS \(INSERT INTO consent_state .* ON CONFLICT \(subject_id, purpose\) DO UPDATE .*\) INSERT INTO audit_event /s);
  });
});
