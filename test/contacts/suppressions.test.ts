import { createHash } from 'node:crypto';
import path from 'node:path';
import request from 'supertest';
import { appToken, auditEvents, createTestApp, createTestOfficer, officerToken, startTestGateway, systemContext, type TestGateway } from '../support/gateway.ts';
import { zoneWhereItIs } from './zones.ts';

/** The NDJSON lines of a suppression list. */
const linesOf = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('suppression lists for systems that contact people offline', () => {
  let gateway: TestGateway;
  let dialer: string;
  let viewer: string;
  let viewerId: string;
  let officer: string;
  const refs = {} as Record<'consented' | 'never' | 'listed' | 'withdrawn' | 'noBirds' | 'asleep' | 'elsewhere', string>;

  const subject = async (token: string, phone: string, timezone = zoneWhereItIs(12)) =>
    (await request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${token}`).send({ purpose: 'marketing', identifiers: { phone }, timezone })).body.ref as string;
  const consent = (ref: string, body: object = {}) =>
    request(gateway.app)
      .put(`/v1/subjects/${ref}/consents/marketing`)
      .set('Authorization', `Bearer ${dialer}`)
      .send({ source: 'web-form', noticeVersion: 'n1', ...body });
  const list = (token: string, query: Record<string, string>) => request(gateway.app).get('/v1/suppressions').query(query).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    gateway = await startTestGateway({ POLICY_DIR: path.join(__dirname, 'policy') });
    dialer = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support'], ['call']));
    const viewerApp = await createTestApp(gateway, ['marketing']);
    viewer = await appToken(gateway, viewerApp);
    viewerId = viewerApp.clientId;
    const agent = await createTestOfficer(gateway, 'privacy-agent');
    officer = await officerToken(gateway, agent.username, agent.password);

    refs.consented = await subject(dialer, '13900140001');
    await consent(refs.consented);
    refs.never = await subject(dialer, '13900140002');
    refs.listed = await subject(dialer, '13900140003');
    await consent(refs.listed);
    await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: '13900140003' });
    refs.withdrawn = await subject(dialer, '13900140004');
    await consent(refs.withdrawn);
    await request(gateway.app).delete(`/v1/subjects/${refs.withdrawn}/consents/marketing`).set('Authorization', `Bearer ${dialer}`).send({});
    refs.noBirds = await subject(dialer, '13900140005');
    await consent(refs.noBirds);
    await request(gateway.app)
      .delete(`/v1/subjects/${refs.noBirds}/consents/marketing`)
      .set('Authorization', `Bearer ${dialer}`)
      .send({ topics: ['bird-food'] });
    refs.asleep = await subject(dialer, '13900140006', zoneWhereItIs(3));
    await consent(refs.asleep);
    // Another app's person: never on this app's list, even unconsented.
    refs.elsewhere = await subject(viewer, '13900140007');
  });
  afterAll(() => gateway.close());

  it("lists every one of the app's refs that may not be contacted now, with the reasons, and ends with a completion line", async () => {
    const answer = await list(dialer, { channel: 'call', purpose: 'marketing', topic: 'bird-food' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = linesOf(answer.text);
    const completion = lines.at(-1);
    const listed = new Map(lines.slice(0, -1).map((l) => [l.ref as string, l.reasons as string[]]));
    expect([...listed.keys()].sort()).toEqual([refs.never, refs.listed, refs.withdrawn, refs.noBirds, refs.asleep].sort());
    expect(listed.get(refs.listed)).toContain('do-not-call');
    expect(listed.get(refs.never)).toEqual(expect.arrayContaining([expect.stringMatching(/consent/)]));
    expect(listed.get(refs.noBirds)).toEqual(['topic-opted-out']);
    expect(listed.get(refs.asleep)).toEqual(['quiet-hours']);
    expect(completion).toEqual({ complete: true, checked: 6, suppressed: 5 });
    expect(listed.has(refs.consented)).toBe(false);
    expect(listed.has(refs.elsewhere)).toBe(false);

    // Another topic: the bird-food opt-out does not suppress cat food.
    const catFood = linesOf((await list(dialer, { channel: 'call', purpose: 'marketing', topic: 'cat-food' })).text).map((l) => l.ref);
    expect(catFood).not.toContain(refs.noBirds);
  });

  it('audits each person decided, as a scrub does', async () => {
    const before = (await auditEvents(gateway, 'contacts.suppressions')).length;
    await list(dialer, { channel: 'call', purpose: 'marketing', topic: 'cat-food' });
    const events = (await auditEvents(gateway, 'contacts.suppressions')).slice(before);
    expect(events).toHaveLength(6);
    expect(events.filter((e) => e.decision === 'deny').length).toBe(4);
  });

  it('hashed-phone: salted SHA-256 of the E.164 numbers, a new salt every list, for an app that may reveal the number', async () => {
    const first = await list(dialer, { channel: 'call', purpose: 'marketing', topic: 'bird-food', format: 'hashed-phone' });
    expect(first.status).toBe(200);
    const salt = Buffer.from(String(first.headers['custos-hash-salt']), 'base64');
    expect(salt).toHaveLength(32);
    const hashes = linesOf(first.text)
      .slice(0, -1)
      .map((l) => l.phoneHash);
    const expected = (e164: string) => createHash('sha256').update(salt).update(e164).digest('hex');
    expect(hashes).toContain(expected('+8613900140003'));
    expect(hashes).not.toContain(expected('+8613900140001'));
    expect(first.text).not.toMatch(/1390014000\d|ref_/);
    const second = await list(dialer, { channel: 'call', purpose: 'marketing', topic: 'bird-food', format: 'hashed-phone' });
    expect(second.headers['custos-hash-salt']).not.toBe(first.headers['custos-hash-salt']);

    const refused = await list(viewer, { channel: 'call', purpose: 'marketing', format: 'hashed-phone' });
    expect({ status: refused.status, type: refused.body.type }).toEqual({ status: 403, type: 'urn:custos:problem:forbidden' });
  });

  it('fails closed on a purpose the app was not granted: every one of its refs is suppressed, as authorize would deny them', async () => {
    const lines = linesOf((await list(viewer, { channel: 'call', purpose: 'support' })).text);
    expect(lines.slice(0, -1)).toEqual([{ ref: refs.elsewhere, reasons: ['purpose-not-granted'] }]);
  });

  it('pages through every ref of the app, a part at a time, however many it holds', async () => {
    await gateway.runtime.subjects.seedSubjects(systemContext(gateway), viewerId, 2_345);
    const lines = linesOf((await list(viewer, { channel: 'sms', purpose: 'marketing' })).text);
    const refsListed = lines.slice(0, -1).map((l) => l.ref);
    expect(new Set(refsListed).size).toBe(refsListed.length);
    expect(lines.at(-1)).toEqual({ complete: true, checked: 2_346, suppressed: refsListed.length });
    // None of the seeded people consented to marketing: all of them, and the one written before, are listed.
    expect(refsListed).toHaveLength(2_346);
  });

  it('refuses what it cannot decide before a line is sent: an unknown channel, a bad parameter', async () => {
    expect((await list(dialer, { channel: 'pigeon', purpose: 'marketing' })).status).toBe(422);
    const extra = await list(dialer, { channel: 'call', purpose: 'marketing', refs: 'x' });
    expect({ status: extra.status, paths: extra.body.errors?.map((e: { path: string }) => e.path) }).toEqual({ status: 400, paths: [''] });
  });
});
