import path from 'node:path';
import request from 'supertest';
import { appToken, auditEvents, createTestApp, createTestOfficer, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { whenClockIsLater } from '../support/clock.ts';
import { zoneWhereItIs } from './zones.ts';

describe('contact authorization', () => {
  let gateway: TestGateway;
  let dialer: string;
  let officer: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ POLICY_DIR: path.join(__dirname, 'policy') });
    dialer = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support', 'survey'], ['call', 'sms', 'email']));
    const agent = await createTestOfficer(gateway, 'privacy-agent');
    officer = await officerToken(gateway, agent.username, agent.password);
  });
  afterAll(() => gateway.close());

  const as = (token: string) => ({
    subject: async (phone: string, timezone = zoneWhereItIs(12)) =>
      (
        await request(gateway.app)
          .post('/v1/subjects')
          .set('Authorization', `Bearer ${token}`)
          .send({ purpose: 'marketing', identifiers: { phone, email: `p${phone}@example.com` }, timezone })
      ).body.ref as string,
    consent: (ref: string, body: object = {}) =>
      request(gateway.app)
        .put(`/v1/subjects/${ref}/consents/marketing`)
        .set('Authorization', `Bearer ${token}`)
        .send({ source: 'web-form', noticeVersion: 'n1', ...body }),
    withdraw: (ref: string, body: object) => request(gateway.app).delete(`/v1/subjects/${ref}/consents/marketing`).set('Authorization', `Bearer ${token}`).send(body),
    authorize: (body: object, key?: string) => {
      const req = request(gateway.app).post('/v1/contacts/authorize').set('Authorization', `Bearer ${token}`);
      return (key ? req.set('Idempotency-Key', key) : req).send(body);
    },
    reveal: (ticket: string) => request(gateway.app).post(`/v1/contacts/${ticket}/reveal`).set('Authorization', `Bearer ${token}`),
    outcome: (ticket: string, status: string) => request(gateway.app).post(`/v1/contacts/${ticket}/outcome`).set('Authorization', `Bearer ${token}`).send({ status }),
    lookup: (phone: string) => request(gateway.app).get('/v1/subjects/lookup').query({ purpose: 'marketing', phone }).set('Authorization', `Bearer ${token}`),
  });

  it('three agents in three regions call the same person at once: one call is allowed', async () => {
    const ref = await as(dialer).subject('13900139001');
    await as(dialer).consent(ref);
    const regions = await Promise.all([1, 2, 3].map(async () => appToken(gateway, await createTestApp(gateway, ['marketing'], ['call']))));
    const refs = await Promise.all(regions.map((t) => as(t).subject('13900139001')));
    const answers = await Promise.all(regions.map((t, i) => as(t).authorize({ ref: refs[i], channel: 'call', purpose: 'marketing', topic: 'cat-food' })));
    expect(answers.map((a) => a.body.decision).sort()).toEqual(['allow', 'deny', 'deny']);
    for (const denied of answers.filter((a) => a.body.decision === 'deny')) {
      expect(denied.body.reasons).toEqual([{ code: 'frequency-cap', detail: 'at most 1 per P1D on call for marketing' }]);
      expect(new Date(denied.body.retryAfter).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    }
  });

  it('500 concurrent authorizations for one subject with a cap of 3 allow exactly 3', async () => {
    const ref = await as(dialer).subject('13900139002');
    const answers = await Promise.all(Array.from({ length: 500 }, () => as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })));
    expect(answers.filter((a) => a.status !== 200).map((a) => [a.status, a.body])).toEqual([]);
    expect(answers.filter((a) => a.body.decision === 'allow')).toHaveLength(3);
    expect(await gateway.runtime.db.read.contactReservation.count({ where: { channel: 'sms', purpose: 'survey', status: 'reserved' } })).toBe(3);
  });

  it('keeps a cap exact while contacts no cap counts, which take no lock, are allowed at the same time', async () => {
    const ref = await as(dialer).subject('13900139012');
    await as(dialer).consent(ref);
    // sms is capped at 3 a week for every purpose; e-mail under marketing is not capped.
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => as(dialer).authorize({ ref, channel: i % 2 === 0 ? 'sms' : 'email', purpose: i % 2 === 0 ? 'survey' : 'marketing' })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const allowed = (channel: string) => answers.filter((a, i) => (i % 2 === 0 ? 'sms' : 'email') === channel && a.body.decision === 'allow');
    expect(allowed('sms')).toHaveLength(3);
    expect(allowed('email')).toHaveLength(100);
    // Each allowed e-mail's slot was written with its audit event.
    const subjectId = (await gateway.runtime.db.read.subjectRef.findUnique({ where: { ref } }))!.subjectId;
    const slots = await gateway.runtime.db.read.contactReservation.findMany({ where: { subjectId, channel: 'email' } });
    expect(slots.map((r) => r.ticket).sort()).toEqual(
      allowed('email')
        .map((a) => a.body.ticket as string)
        .sort(),
    );
    const events = (await auditEvents(gateway, 'contacts.authorize')).filter((e) => e.subject === subjectId);
    expect(events.filter((e) => e.decision === 'allow')).toHaveLength(103);
    expect(events).toHaveLength(200);
  });

  it('reports every failing check, not only the first', async () => {
    const ref = await as(dialer).subject('13900139003', zoneWhereItIs(23));
    await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: '+86 139 0013 9003' });
    const answer = await as(dialer).authorize({ ref, channel: 'call', purpose: 'marketing' });
    expect(answer.body.decision).toBe('deny');
    expect(answer.body.reasons.map((r: { code: string }) => r.code).sort()).toEqual(['do-not-call', 'no-consent', 'quiet-hours']);
    expect(answer.body.retryAfter).toBeUndefined();
  });

  it('tells when quiet hours end, in the subject’s own time zone', async () => {
    const zone = zoneWhereItIs(23);
    const ref = await as(dialer).subject('13900139004', zone);
    const answer = await as(dialer).authorize({ ref, channel: 'call', purpose: 'support' });
    expect(answer.body).toMatchObject({ decision: 'deny', reasons: [{ code: 'quiet-hours', detail: `21:00-08:00 in ${zone}` }] });
    const retry = new Date(answer.body.retryAfter);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(retry)).toBe('08:00');
  });

  it('honours topic and channel opt-outs and the purpose’s channels', async () => {
    const ref = await as(dialer).subject('13900139005');
    await as(dialer).consent(ref, { channels: ['email', 'sms'] });
    await as(dialer).withdraw(ref, { topics: ['bird-food'] });
    const bird = await as(dialer).authorize({ ref, channel: 'email', purpose: 'marketing', topic: 'bird-food' });
    expect(bird.body.reasons).toEqual([{ code: 'topic-opted-out', detail: 'the person opted out of the topic bird-food' }]);
    expect((await as(dialer).authorize({ ref, channel: 'email', purpose: 'marketing', topic: 'cat-food' })).body.decision).toBe('allow');
    expect((await as(dialer).authorize({ ref, channel: 'call', purpose: 'marketing', topic: 'cat-food' })).body.reasons).toEqual([
      { code: 'outside-consent-scope', detail: 'the consent to marketing covers email, sms only, not call' },
    ]);
    expect((await as(dialer).authorize({ ref, channel: 'sms', purpose: 'support' })).body.reasons).toEqual([{ code: 'channel-not-allowed', detail: 'support may use call, email' }]);
  });

  it('tells never granted, lapsed, withdrawn and narrower-than-asked apart, and lists only reasons that apply', async () => {
    const codes = async (ref: string, body: object) => {
      const answer = (await as(dialer).authorize({ ref, purpose: 'marketing', ...body })).body;
      return answer.decision === 'allow' ? [] : ((answer.reasons ?? [answer]) as Array<{ code: string }>).map((r) => r.code ?? JSON.stringify(r));
    };
    const never = await as(dialer).subject('13900139021');
    expect(
      await as(dialer)
        .authorize({ ref: never, channel: 'email', purpose: 'marketing' })
        .then((a) => a.body.reasons),
    ).toEqual([{ code: 'no-consent', detail: 'the person never consented to marketing' }]);
    // A channel the purpose cannot use is the purpose's reason alone: nobody opted out of it.
    const narrow = await as(dialer).subject('13900139022');
    await as(dialer).consent(narrow, { channels: ['sms', 'email'], topics: ['cat-food'] });
    expect(await codes(narrow, { channel: 'wechat' })).toEqual(['channel-not-allowed']);
    expect(await codes(narrow, { channel: 'call', topic: 'cat-food' })).toEqual(['outside-consent-scope']);
    expect(await codes(narrow, { channel: 'email', topic: 'bird-food' })).toEqual(['outside-consent-scope']);
    await as(dialer).withdraw(narrow, { channels: ['sms'] });
    await as(dialer).withdraw(narrow, { topics: ['cat-food'] });
    expect(await codes(narrow, { channel: 'email', topic: 'cat-food' })).toEqual(['opted-out']); // every granted topic taken back: the purpose is withdrawn
    const partial = await as(dialer).subject('13900139023');
    await as(dialer).consent(partial, { channels: ['sms', 'email'] });
    await as(dialer).withdraw(partial, { channels: ['sms'], topics: ['bird-food'] });
    expect(await codes(partial, { channel: 'sms', topic: 'cat-food' })).toEqual(['opted-out']);
    expect(await codes(partial, { channel: 'email', topic: 'bird-food' })).toEqual(['topic-opted-out']);
    expect(await codes(partial, { channel: 'call', topic: 'bird-food' })).toEqual(['outside-consent-scope', 'topic-opted-out']);
    const lapsed = await as(dialer).subject('13900139024');
    await as(dialer).consent(lapsed, { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    expect(await codes(lapsed, { channel: 'email' })).toEqual([]);
    expect(await whenClockIsLater(61_000, () => codes(lapsed, { channel: 'email' }))).toEqual(['consent-expired']);
  });

  it('replays the first answer for a retried Idempotency-Key instead of reserving a second slot', async () => {
    const ref = await as(dialer).subject('13900139006');
    const first = await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' }, 'retry-abc-1');
    const again = await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' }, 'retry-abc-1');
    expect(again.body).toEqual(first.body);
    expect(first.body.decision).toBe('allow');
    const subjectId = (await gateway.runtime.subjects.subjectOfRef((await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } })).appId, ref))!;
    expect(await gateway.runtime.db.read.contactReservation.count({ where: { subjectId } })).toBe(1);
  });

  it('a key reused among 20 concurrent keyed requests is refused for that request alone: one 422, the rest answered as they would be alone', async () => {
    const refs = await Promise.all(Array.from({ length: 21 }, (_, i) => as(dialer).subject(`1390014${String(i).padStart(4, '0')}`)));
    const [first, second, ...others] = refs as [string, string, ...string[]];
    // Sent together, so that the grouped transaction of capped, keyed authorizations holds the reused key beside fresh ones.
    const answers = await Promise.all([
      as(dialer).authorize({ ref: first, channel: 'sms', purpose: 'survey' }, 'grouped-shared-key'),
      ...others.map((ref, i) => as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' }, `grouped-fresh-${i}`)),
      as(dialer).authorize({ ref: second, channel: 'sms', purpose: 'survey' }, 'grouped-shared-key'),
    ]);
    const shared = [answers[0]!, answers.at(-1)!];
    expect(shared.map((a) => a.status).sort()).toEqual([200, 422]);
    const kept = shared.find((a) => a.status === 200)!;
    expect(kept.body.decision).toBe('allow');
    expect(answers.slice(1, -1).map((a) => [a.status, a.body.decision])).toEqual(others.map(() => [200, 'allow']));
    // Every allow holds its slot, the key's first use included; the refused request reserved nothing.
    for (const answer of answers.filter((a) => a.status === 200)) expect(await gateway.runtime.db.read.contactReservation.count({ where: { ticket: answer.body.ticket } })).toBe(1);
    const winner = kept === answers[0] ? first : second;
    const loser = winner === first ? second : first;
    const reservationsOf = async (ref: string) => {
      const { subjectId } = await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } });
      return gateway.runtime.db.read.contactReservation.count({ where: { subjectId } });
    };
    expect([await reservationsOf(winner), await reservationsOf(loser)]).toEqual([1, 0]);
    // The key replays the answer that stands.
    expect((await as(dialer).authorize({ ref: winner, channel: 'sms', purpose: 'survey' }, 'grouped-shared-key')).body).toEqual(kept.body);
  });

  it('refuses an Idempotency-Key reused with another request, and never hands out the first person’s ticket', async () => {
    const [first, second] = [await as(dialer).subject('13900139016'), await as(dialer).subject('13900139017')];
    const answer = await as(dialer).authorize({ ref: first, channel: 'sms', purpose: 'survey' }, 'shared-key-1');
    expect(answer.body.decision).toBe('allow');
    const reused = await as(dialer).authorize({ ref: second, channel: 'sms', purpose: 'survey' }, 'shared-key-1');
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ type: 'urn:custos:problem:idempotency-key-reused' });
    expect(reused.text).not.toContain(answer.body.ticket);
    expect((await as(dialer).authorize({ ref: first, channel: 'sms', purpose: 'survey', topic: undefined }, 'shared-key-1')).body).toEqual(answer.body);
    expect((await as(dialer).authorize({ ref: first, channel: 'sms', purpose: 'marketing' }, 'shared-key-1')).status).toBe(422);
    // Keys belong to the app that sent them: another app's same key is a new request.
    const other = await appToken(gateway, await createTestApp(gateway, ['survey'], []));
    const otherRef = (
      await request(gateway.app)
        .post('/v1/subjects')
        .set('Authorization', `Bearer ${other}`)
        .send({ purpose: 'survey', identifiers: { phone: '13900139017' } })
    ).body.ref as string;
    const otherAnswer = await as(other).authorize({ ref: otherRef, channel: 'sms', purpose: 'survey' }, 'shared-key-1');
    expect(otherAnswer.status).toBe(200);
    expect(otherAnswer.body.ticket).not.toBe(answer.body.ticket);
    const subjectOf = async (ref: string) => (await gateway.runtime.subjects.subjectOfRef((await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } })).appId, ref))!;
    expect(
      await gateway.runtime.db.read.contactReservation.count({
        where: { subjectId: await subjectOf(second), appId: (await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref: second } })).appId },
      }),
    ).toBe(0);
  });

  it('gives the slot of a ticket that expired unrevealed back, and keeps the slot of a revealed one', async () => {
    const ref = await as(dialer).subject('13900139018');
    const tickets = [];
    for (let i = 0; i < 3; i++) tickets.push((await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.ticket as string);
    expect((await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.reasons[0].code).toBe('frequency-cap');
    const expire = (ticket: string) => gateway.runtime.db.transaction((tx) => tx.contactReservation.update({ where: { ticket }, data: { expiresAt: new Date(Date.now() - 1000) } }));
    await expire(tickets[0]!);
    expect((await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.decision).toBe('allow');

    await as(dialer).consent(ref);
    const call = (await as(dialer).authorize({ ref, channel: 'call', purpose: 'marketing' })).body;
    expect((await as(dialer).reveal(call.ticket)).status).toBe(200);
    await expire(call.ticket);
    expect((await as(dialer).authorize({ ref, channel: 'call', purpose: 'marketing' })).body.reasons[0].code).toBe('frequency-cap');
    // The scrub counts slots the same way.
    const scrub = await request(gateway.app)
      .post('/v1/contacts/scrub')
      .set('Authorization', `Bearer ${dialer}`)
      .send({ channel: 'sms', purpose: 'survey', refs: [ref] });
    expect(scrub.body.denied[0].reasons[0].code).toBe('frequency-cap');
    await expire(tickets[1]!);
    const again = await request(gateway.app)
      .post('/v1/contacts/scrub')
      .set('Authorization', `Bearer ${dialer}`)
      .send({ channel: 'sms', purpose: 'survey', refs: [ref] });
    expect(again.body.allowed).toEqual([ref]);
  });

  it('holds consent to recipients: a grant narrowed to brands covers only them, and a brand can be withdrawn', async () => {
    const codes = async (body: object) => {
      const answer = await as(dialer).authorize({ purpose: 'marketing', channel: 'email', ...body });
      return answer.status !== 200 ? answer.status : answer.body.decision === 'allow' ? 'allow' : (answer.body.reasons as Array<{ code: string }>).map((r) => r.code).join(',');
    };
    const narrowed = await as(dialer).subject('13900139041');
    expect((await as(dialer).consent(narrowed, { recipients: ['nobody-we-know'] })).status).toBe(422);
    await as(dialer).consent(narrowed, { recipients: ['brand-a'] });
    expect(await codes({ ref: narrowed, recipient: 'brand-a' })).toBe('allow');
    expect(await codes({ ref: narrowed, recipient: 'brand-b' })).toBe('recipient-not-consented');
    expect(await codes({ ref: narrowed })).toBe('recipient-not-consented');
    expect(await codes({ ref: narrowed, recipient: 'nobody-we-know' })).toBe(422);
    // A purpose that declares no recipients takes none: caller text never reaches the trail or the ledger.
    const typed = 'Acme Pet Food 13900139099';
    expect((await as(dialer).authorize({ ref: narrowed, purpose: 'support', channel: 'call', recipient: typed })).body.violations).toEqual([
      { field: 'recipient', reason: 'not a recipient of support (the policy declares none)' },
    ]);
    expect((await request(gateway.app).get(`/v1/subjects/${narrowed}`).query({ purpose: 'support', recipient: typed }).set('Authorization', `Bearer ${dialer}`)).status).toBe(422);
    expect(JSON.stringify(await auditEvents(gateway))).not.toMatch(/Acme|13900139099/);
    const scrub = await request(gateway.app)
      .post('/v1/contacts/scrub')
      .set('Authorization', `Bearer ${dialer}`)
      .send({ channel: 'email', purpose: 'marketing', recipient: 'brand-b', refs: [narrowed] });
    expect(scrub.body.denied[0].reasons).toEqual([{ code: 'recipient-not-consented', detail: 'the consent to marketing covers brand-a only, not brand-b' }]);
    const read = (recipient: string) => request(gateway.app).get(`/v1/subjects/${narrowed}`).query({ purpose: 'marketing', recipient }).set('Authorization', `Bearer ${dialer}`);
    expect((await read('brand-a')).status).toBe(200);
    expect((await read('brand-b')).status).toBe(403);

    const everyone = await as(dialer).subject('13900139042');
    await as(dialer).consent(everyone);
    await as(dialer).withdraw(everyone, { recipients: ['brand-b'] });
    expect(await codes({ ref: everyone, recipient: 'brand-a' })).toBe('allow');
    expect(await codes({ ref: everyone })).toBe('allow');
    const refused = await as(dialer).authorize({ ref: everyone, purpose: 'marketing', channel: 'email', recipient: 'brand-b' });
    expect(refused.body.reasons).toEqual([{ code: 'recipient-not-consented', detail: 'the person withdrew consent to marketing from brand-b' }]);
    // Withdrawing the only recipient a consent was narrowed to withdraws the consent.
    await as(dialer).withdraw(narrowed, { recipients: ['brand-a'] });
    expect(await codes({ ref: narrowed, recipient: 'brand-a' })).toBe('opted-out');
  });

  it('records sent and failed outcomes once, and both keep the slot', async () => {
    const ref = await as(dialer).subject('13900139031');
    const [a, b] = [(await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.ticket, (await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.ticket];
    expect((await as(dialer).outcome(a, 'sent')).body).toEqual({ ticket: a, status: 'sent' });
    expect((await as(dialer).outcome(b, 'failed')).body).toEqual({ ticket: b, status: 'failed' });
    expect((await as(dialer).outcome(a, 'failed')).status).toBe(409);
    await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' });
    expect((await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.reasons[0].code).toBe('frequency-cap');
  });

  it('answers purpose-not-granted to an app that was not granted the purpose', async () => {
    await as(dialer).subject('13900139032');
    const surveyOnly = await appToken(gateway, await createTestApp(gateway, ['survey'], []));
    const ref = (
      await request(gateway.app)
        .post('/v1/subjects')
        .set('Authorization', `Bearer ${surveyOnly}`)
        .send({ purpose: 'survey', identifiers: { phone: '13900139032' } })
    ).body.ref as string;
    const answer = await as(surveyOnly).authorize({ ref, channel: 'sms', purpose: 'marketing' });
    expect(answer.body.reasons.map((r: { code: string }) => r.code)).toContain('purpose-not-granted');
  });

  it('reveals the identifier for the ticket’s channel once; not-sent gives the slot back', async () => {
    const ref = await as(dialer).subject('13900139007');
    const allowed = (await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body;
    expect((await as(dialer).reveal(allowed.ticket)).status).toBe(403); // survey does not list phone in reveal

    await as(dialer).consent(ref);
    const call = (await as(dialer).authorize({ ref, channel: 'call', purpose: 'marketing' })).body;
    const revealed = await as(dialer).reveal(call.ticket);
    expect(revealed.body).toEqual({ channel: 'call', field: 'phone', value: '+8613900139007' });
    expect((await as(dialer).reveal(call.ticket)).status).toBe(409);

    const other = await appToken(gateway, await createTestApp(gateway, ['marketing'], ['call']));
    expect((await as(other).reveal(call.ticket)).status).toBe(404);
    expect((await as(other).outcome(call.ticket, 'sent')).status).toBe(404);

    // The daily call cap is used; giving the slot back allows the next call.
    expect((await as(dialer).authorize({ ref, channel: 'call', purpose: 'marketing' })).body.reasons[0].code).toBe('frequency-cap');
    expect((await as(dialer).outcome(call.ticket, 'not-sent')).body).toEqual({ ticket: call.ticket, status: 'released' });
    expect((await as(dialer).outcome(call.ticket, 'sent')).status).toBe(409);
    expect((await as(dialer).authorize({ ref, channel: 'call', purpose: 'marketing' })).body.decision).toBe('allow');
  });

  it('keeps internal do-not-call entries as pseudonyms, exempts the support purpose, and lets officers check and remove', async () => {
    const ref = await as(dialer).subject('13900139008');
    const added = await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: '13900139008', note: 'asked on the phone' });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ id: expect.stringMatching(/^dnc_/), added: true });
    // Listed again (another format, at the same moment twice): the entry it has, never a 503, and no second entry.
    const entries = await gateway.runtime.db.read.dncEntry.count({ where: { source: 'internal' } });
    const again = await Promise.all([1, 2].map(() => request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: '+86 139 0013 9008' })));
    expect(again.map((a) => [a.status, a.body])).toEqual([
      [200, { id: added.body.id, added: false }],
      [200, { id: added.body.id, added: false }],
    ]);
    expect(await gateway.runtime.db.read.dncEntry.count({ where: { source: 'internal' } })).toBe(entries);
    const check = await request(gateway.app).get('/v1/dnc/check').query({ phone: '+86 139-0013-9008' }).set('Authorization', `Bearer ${officer}`);
    expect(check.body).toEqual({ listed: true, sources: ['internal'] });
    expect(JSON.stringify(await gateway.runtime.db.read.dncEntry.findMany())).not.toContain('13900139008');

    expect((await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.reasons[0].code).toBe('do-not-call');
    expect((await as(dialer).authorize({ ref, channel: 'call', purpose: 'support' })).body.decision).toBe('allow');

    expect((await request(gateway.app).delete(`/v1/dnc/entries/${added.body.id}`).set('Authorization', `Bearer ${officer}`)).status).toBe(204);
    expect((await as(dialer).authorize({ ref, channel: 'sms', purpose: 'survey' })).body.decision).toBe('allow');
    expect((await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${dialer}`).send({ phone: '13900139008' })).status).toBe(403);
  });

  describe('bad input', () => {
    it.each([
      ['an unknown channel', { channel: 'pigeon', purpose: 'marketing' }, 422],
      ['an unknown purpose', { channel: 'sms', purpose: 'surveillance' }, 422],
      ['a topic the purpose lacks', { channel: 'email', purpose: 'marketing', topic: 'fish-food' }, 422],
      ['a missing channel', { purpose: 'marketing' }, 400],
    ])('refuses %s', async (_name, body, status) => {
      const ref = await as(dialer).subject('13900139009');
      const response = await as(dialer).authorize({ ref, ...body });
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it("answers another app's ref with 404", async () => {
      const ref = await as(dialer).subject('13900139010');
      const other = await appToken(gateway, await createTestApp(gateway, ['survey']));
      expect((await as(other).authorize({ ref, channel: 'sms', purpose: 'survey' })).status).toBe(404);
    });

    it('refuses a phone number that is not one for do-not-call entries', async () => {
      const response = await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: 'call me maybe' });
      expect(response.status).toBe(422);
    });
  });

  it('audits every decision, reveal and outcome with its reasons', async () => {
    const events = await auditEvents(gateway);
    const actions = new Set(events.map((e) => `${e.action}:${e.decision}`));
    for (const expected of [
      'contacts.authorize:allow',
      'contacts.authorize:deny',
      'contacts.reveal:allow',
      'contacts.reveal:deny',
      'contacts.outcome:info',
      'dnc.entry.add:info',
      'dnc.entry.remove:info',
      'dnc.check:info',
    ])
      expect(actions).toContain(expected);
    const denied = events.find((e) => e.action === 'contacts.authorize' && e.decision === 'deny' && e.reasons.length === 3)!;
    expect(denied.reasons.map((r) => r.code).sort()).toEqual(['do-not-call', 'no-consent', 'quiet-hours']);
    expect(JSON.stringify(events)).not.toContain('13900139007');
  });
});

describe('campaign scrub', () => {
  let gateway: TestGateway;
  let token: string;
  beforeAll(async () => {
    gateway = await startTestGateway({ POLICY_DIR: path.join(__dirname, 'policy') });
    token = await appToken(gateway, await createTestApp(gateway, ['marketing', 'survey'], ['sms']));
  });
  afterAll(() => gateway.close());

  const post = (p: string, body: object) => request(gateway.app).post(p).set('Authorization', `Bearer ${token}`).send(body);

  it('splits a list into allowed and denied refs with reasons, reserves nothing, and audits each decision', async () => {
    const refs: string[] = [];
    for (let i = 0; i < 6; i++) refs.push((await post('/v1/subjects', { purpose: 'survey', identifiers: { phone: `1370013700${i}` } })).body.ref);
    const agent = await createTestOfficer(gateway, 'privacy-agent');
    const officer = await officerToken(gateway, agent.username, agent.password);
    await request(gateway.app).post('/v1/dnc/entries').set('Authorization', `Bearer ${officer}`).send({ phone: '13700137001' });
    for (let i = 0; i < 3; i++) await post('/v1/contacts/authorize', { ref: refs[2], channel: 'sms', purpose: 'survey' });
    const before = await gateway.runtime.db.read.contactReservation.count();

    const response = await post('/v1/contacts/scrub', { channel: 'sms', purpose: 'survey', refs: [...refs, 'ref_AAAAAAAAAAAAAAAAAAAAAA'] });
    expect(response.status).toBe(200);
    expect(response.body.allowed.sort()).toEqual([refs[0], refs[3], refs[4], refs[5]].sort());
    expect(response.body.denied).toEqual(
      expect.arrayContaining([
        { ref: refs[1], reasons: [{ code: 'do-not-call', detail: 'the number is on the do-not-call list (internal)' }] },
        { ref: refs[2], reasons: [{ code: 'frequency-cap', detail: 'at most 3 per P7D on sms' }] },
        { ref: 'ref_AAAAAAAAAAAAAAAAAAAAAA', reasons: [{ code: 'unknown-ref', detail: 'no subject with this ref' }] },
      ]),
    );
    expect(await gateway.runtime.db.read.contactReservation.count()).toBe(before);
    const events = await auditEvents(gateway, 'contacts.scrub');
    expect(events).toHaveLength(6);
    expect(events.filter((e) => e.decision === 'allow')).toHaveLength(4);
  });

  it('accepts a 100,000-ref list and refuses a longer one', async () => {
    const many = Array.from({ length: 100_000 }, (_, i) => `ref_${String(i).padStart(22, 'x')}`);
    const ok = await post('/v1/contacts/scrub', { channel: 'sms', purpose: 'survey', refs: many });
    expect(ok.status).toBe(200);
    expect(ok.body.denied).toHaveLength(100_000);
    const tooMany = await post('/v1/contacts/scrub', { channel: 'sms', purpose: 'survey', refs: [...many, 'ref_one_more'] });
    expect(tooMany.status).toBe(400);
  });
});
