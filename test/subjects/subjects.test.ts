import request from 'supertest';
import { appToken, auditEvents, createTestApp, startTestGateway, type TestGateway } from '../support/gateway.ts';

const PHONE = '+86 138-0013-8000';
const EMAIL = 'Cat.Owner@Example.COM ';

describe('subject vault', () => {
  let gateway: TestGateway;
  let crm: string;
  let dialer: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    crm = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support']));
    dialer = await appToken(gateway, await createTestApp(gateway, ['support']));
  });
  afterAll(() => gateway.close());

  const as = (token: string) => ({
    write: (body: unknown) =>
      request(gateway.app)
        .post('/v1/subjects')
        .set('Authorization', `Bearer ${token}`)
        .send(body as object),
    patch: (ref: string, body: unknown) =>
      request(gateway.app)
        .patch(`/v1/subjects/${ref}`)
        .set('Authorization', `Bearer ${token}`)
        .send(body as object),
    read: (ref: string, purpose: string) => request(gateway.app).get(`/v1/subjects/${ref}`).query({ purpose }).set('Authorization', `Bearer ${token}`),
    // Marketing is consent-based: reads under it need the person's consent first.
    consent: (ref: string, purpose = 'marketing') =>
      request(gateway.app).put(`/v1/subjects/${ref}/consents/${purpose}`).set('Authorization', `Bearer ${token}`).send({ source: 'web-form', noticeVersion: '2026-01' }),
    lookup: (query: Record<string, string>) => request(gateway.app).get('/v1/subjects/lookup').query(query).set('Authorization', `Bearer ${token}`),
  });
  const rowCounts = async () => {
    const db = gateway.runtime.db.read;
    return {
      subjects: await db.subject.count(),
      fields: await db.subjectField.count(),
      identifiers: await db.subjectIdentifier.count(),
      changes: await db.subjectChange.count(),
      refs: await db.subjectRef.count(),
    };
  };

  describe('writing', () => {
    it('creates a subject and recognises the same person written again in other formats', async () => {
      const first = await as(crm).write({ purpose: 'marketing', identifiers: { phone: PHONE }, attributes: { name: 'Li Na', pets: ['cat'] } });
      expect(first.status).toBe(201);
      expect(first.body).toEqual({ ref: expect.stringMatching(/^ref_[A-Za-z0-9_-]{22}$/), created: true, changed: ['phone', 'name', 'pets'] });

      for (const [i, phone] of ['13800138000', '+8613800138000', '+86 (138) 0013 8000'].entries()) {
        const again = await as(crm).write({ purpose: 'marketing', identifiers: { phone }, attributes: { pets: ['cat', 'dog'] } });
        expect(again.status).toBe(200);
        // Only the first of these changes anything: the same pets again change nothing.
        expect(again.body).toEqual({ ref: first.body.ref, created: false, changed: i === 0 ? ['pets'] : [] });
      }
      expect((await as(crm).consent(first.body.ref)).status).toBe(200);
      const view = await as(crm).read(first.body.ref, 'marketing');
      expect(view.body.attributes).toEqual({ name: 'Li Na', pets: ['cat', 'dog'] });

      const subject = await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref: first.body.ref } });
      const history = await gateway.runtime.db.read.subjectChange.findMany({ where: { subjectId: subject.subjectId }, orderBy: { changedAt: 'asc' } });
      expect(history.map((h) => `${h.field}:${h.change}`)).toEqual(['phone:set', 'name:set', 'pets:set', 'pets:set']);
    });

    it('adds an e-mail to the subject its phone matched, normalized', async () => {
      const response = await as(crm).write({ purpose: 'marketing', identifiers: { phone: '13800138000', email: EMAIL } });
      expect(response.body.created).toBe(false);
      const byEmail = await as(crm).lookup({ purpose: 'marketing', email: 'cat.owner@example.com' });
      expect(byEmail.body.ref).toBe(response.body.ref);
    });

    it('refuses, with every violation listed, fields the purpose may not collect, and stores nothing', async () => {
      const before = await rowCounts();
      const response = await as(crm).write({ purpose: 'marketing', identifiers: { phone: '13900139000', memberCard: 'M-1' }, attributes: { name: 'X', birthday: '1990-01-01', shoeSize: 42 } });
      expect(response.status).toBe(422);
      expect(response.body.type).toBe('urn:custos:problem:policy-violation');
      expect(response.body.violations).toEqual([
        { field: 'identifiers.memberCard', reason: 'not-collected-for-purpose' },
        { field: 'attributes.birthday', reason: 'not-collected-for-purpose' },
        { field: 'attributes.shoeSize', reason: 'unknown-field' },
      ]);
      expect(await rowCounts()).toEqual(before);
    });

    it('refuses a purpose the app was not granted, or that does not exist', async () => {
      const before = await rowCounts();
      const notGranted = await as(dialer).write({ purpose: 'marketing', identifiers: { phone: '13900139001' } });
      expect(notGranted.status).toBe(422);
      expect(notGranted.body.violations).toEqual([{ field: 'purpose', reason: 'purpose-not-granted' }]);
      const unknown = await as(crm).write({ purpose: 'surveillance', identifiers: { phone: '13900139001' } });
      expect(unknown.body.violations).toEqual([{ field: 'purpose', reason: 'unknown-purpose' }]);
      const swapped = await as(crm).write({ purpose: 'support', identifiers: { name: 'X' }, attributes: { phone: '13900139001' } });
      expect(swapped.body.violations).toEqual([
        { field: 'identifiers.name', reason: 'not-an-identifier' },
        { field: 'attributes.phone', reason: 'not-an-attribute' },
      ]);
      expect(await rowCounts()).toEqual(before);
    });

    it('answers 409 when the phone belongs to one subject and the e-mail to another', async () => {
      await as(crm).write({ purpose: 'marketing', identifiers: { phone: '13700137000' } });
      await as(crm).write({ purpose: 'marketing', identifiers: { email: 'other@example.com' } });
      const before = await rowCounts();
      const response = await as(crm).write({ purpose: 'marketing', identifiers: { phone: '13700137000', email: 'other@example.com' }, attributes: { name: 'Merged?' } });
      expect(response.status).toBe(409);
      expect(response.body.conflicts).toEqual(expect.arrayContaining([{ fields: ['identifiers.phone'] }, { fields: ['identifiers.email'] }]));
      expect(await rowCounts()).toEqual(before);
    });

    it('updates with PATCH under the same rules; null removes an attribute', async () => {
      const { body } = await as(crm).write({ purpose: 'marketing', identifiers: { phone: '13600136000' }, attributes: { name: 'Wang Fang', pets: ['bird'] } });
      await as(crm).consent(body.ref);
      const patched = await as(crm).patch(body.ref, { purpose: 'marketing', attributes: { pets: null, name: 'Wang Fang' } });
      expect(patched.status).toBe(200);
      expect((await as(crm).read(body.ref, 'marketing')).body.attributes).toEqual({ name: 'Wang Fang' });
      const refused = await as(crm).patch(body.ref, { purpose: 'marketing', attributes: { birthday: '2000-01-01' } });
      expect(refused.status).toBe(422);
      const stolen = await as(crm).patch(body.ref, { purpose: 'marketing', identifiers: { phone: '13700137000' } });
      expect(stolen.status).toBe(409);
    });

    it('creates one subject when the same new person is written twenty times at once', async () => {
      const before = await rowCounts();
      const results = await Promise.all(Array.from({ length: 20 }, () => as(crm).write({ purpose: 'marketing', identifiers: { phone: '13500135000' } })));
      expect(results.map((r) => r.status).sort()).toEqual([...Array(19).fill(200), 201]);
      expect(new Set(results.map((r) => r.body.ref)).size).toBe(1);
      expect((await rowCounts()).subjects).toBe(before.subjects + 1);
    });
  });

  describe('identities never merge or change by accident', () => {
    it('refuses a write whose identifiers match a person holding another value for one of them; a PATCH of the ref replaces it, in the history and the trail', async () => {
      const ref = (await as(crm).write({ purpose: 'marketing', identifiers: { phone: '13500135001', email: 'first@example.com' } })).body.ref as string;
      const hijack = await as(crm).write({ purpose: 'marketing', identifiers: { phone: '+86 135 0013 5001', email: 'attacker@example.com' } });
      expect(hijack.status).toBe(409);
      expect(hijack.body.conflicts).toEqual([{ fields: ['identifiers.email'] }]);
      const subjectId = (await gateway.runtime.subjects.subjectOfRef((await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } })).appId, ref))!;
      expect((await gateway.runtime.subjects.heldData(subjectId))!.fields.find((f) => f.field === 'email')!.value).toBe('first@example.com');

      const replaced = await as(crm).patch(ref, { purpose: 'marketing', identifiers: { email: 'second@example.com' } });
      expect(replaced.status).toBe(200);
      expect(replaced.body.changed).toEqual(['email']);
      const held = (await gateway.runtime.subjects.heldData(subjectId))!;
      expect(held.history.filter((h) => h.field === 'email').map((h) => h.value)).toEqual(['first@example.com', 'second@example.com']);
      const events = await auditEvents(gateway, 'subjects.subject.update');
      expect(events.at(-1)!.reasons).toEqual([{ code: 'identifier-replaced', detail: 'email' }]);
      expect((await as(crm).write({ purpose: 'marketing', identifiers: { phone: '13500135001', email: 'second@example.com' } })).status).toBe(200);
    });

    it("tells an app only about people it wrote itself: created and lookups are from the app's point of view", async () => {
      const first = await as(crm).write({ purpose: 'support', identifiers: { phone: '13500135002' } });
      expect(first.body.created).toBe(true);
      expect((await as(crm).write({ purpose: 'support', identifiers: { phone: '13500135002' } })).body.created).toBe(false);
      expect((await as(dialer).lookup({ purpose: 'support', phone: '13500135002' })).status).toBe(404);
      const theirs = await as(dialer).write({ purpose: 'support', identifiers: { phone: '13500135002' } });
      expect({ status: theirs.status, created: theirs.body.created }).toEqual({ status: 201, created: true });
      // Underneath it is one person: one subject, two refs.
      const subjectOf = async (ref: string) => gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } });
      expect((await subjectOf(theirs.body.ref)).subjectId).toBe((await subjectOf(first.body.ref)).subjectId);
    });
  });

  describe('reading', () => {
    let ref: string;
    beforeAll(async () => {
      ({ ref } = (await as(crm).write({ purpose: 'support', identifiers: { phone: '13400134000', email: 'reader@example.com', memberCard: ' MC-777 ' }, attributes: { name: 'Zhao Lei' } })).body);
    });

    it("returns only the purpose's read fields, identifiers as pseudonyms", async () => {
      const support = await as(crm).read(ref, 'support');
      expect(support.status).toBe(200);
      expect(support.body).toEqual({ ref, purpose: 'support', attributes: { name: 'Zhao Lei' }, identifiers: { memberCard: expect.stringMatching(/^psn_/) }, timezone: null });
      expect(support.text).not.toMatch(/13400134000|reader@example\.com|MC-777/);
      await as(crm).consent(ref);
      const marketing = await as(crm).read(ref, 'marketing');
      expect(marketing.body.attributes).toEqual({ name: 'Zhao Lei' });
      expect(marketing.body.identifiers).toEqual({});
    });

    it('gives two apps different refs and pseudonyms for one person; a foreign ref is a plain 404', async () => {
      // Another app knows the person only once it writes them (or is given a ref): until then a lookup is a 404.
      expect((await as(dialer).lookup({ purpose: 'support', phone: '+86 134 0013 4000' })).status).toBe(404);
      const registered = await as(dialer).write({ purpose: 'support', identifiers: { phone: '+86 134 0013 4000' } });
      expect(registered.body.created).toBe(true);
      const dialerRef = registered.body.ref;
      expect(dialerRef).toMatch(/^ref_/);
      expect((await as(dialer).lookup({ purpose: 'support', phone: '13400134000' })).body.ref).toBe(dialerRef);
      expect(dialerRef).not.toBe(ref);
      const mine = (await as(crm).read(ref, 'support')).body.identifiers.memberCard;
      const theirs = (await as(dialer).read(dialerRef, 'support')).body.identifiers.memberCard;
      expect(theirs).not.toBe(mine);

      const foreign = await as(dialer).read(ref, 'support');
      const madeUp = await as(dialer).read('ref_AAAAAAAAAAAAAAAAAAAAAA', 'support');
      for (const r of [foreign, madeUp]) {
        expect(r.status).toBe(404);
        expect(r.body.detail).toBe('no subject with this ref');
      }
    });

    it('refuses a purpose the app does not hold with 403', async () => {
      const dialerRef = (await as(dialer).lookup({ purpose: 'support', phone: '13400134000' })).body.ref;
      expect((await as(dialer).read(dialerRef, 'marketing')).status).toBe(403);
    });

    it('looks up only by an identifier the purpose collects', async () => {
      expect((await as(crm).lookup({ purpose: 'marketing', memberCard: 'MC-777' })).body.violations).toEqual([{ field: 'memberCard', reason: 'not-collected-for-purpose' }]);
      expect((await as(crm).lookup({ purpose: 'support', memberCard: 'MC-777' })).body.ref).toBe(ref);
      expect((await as(crm).lookup({ purpose: 'support', phone: '13999999999' })).status).toBe(404);
      expect((await as(crm).lookup({ purpose: 'support' })).status).toBe(400);
      expect((await as(crm).lookup({ purpose: 'support', phone: '1', email: 'a@b.co' })).status).toBe(400);
    });
  });

  describe('bad input', () => {
    it.each([
      ['wrong types', { purpose: 'marketing', identifiers: { phone: 13800138000 } }, 400],
      ['no identifiers', { purpose: 'marketing', identifiers: {}, attributes: { name: 'X' } }, 400],
      ['an empty identifier', { purpose: 'marketing', identifiers: { phone: '  ' } }, 400],
      ['an over-long string', { purpose: 'marketing', identifiers: { phone: '13800138000' }, attributes: { name: 'x'.repeat(2001) } }, 400],
      ['an e-mail with a Cyrillic look-alike', { purpose: 'marketing', identifiers: { email: 'саt@example.com' } }, 422],
      ['a phone number with letters', { purpose: 'marketing', identifiers: { phone: '138abc00138000' } }, 422],
      ['a phone number too short to be real', { purpose: 'marketing', identifiers: { phone: '12' } }, 422],
      ['an unknown top-level key', { purpose: 'marketing', identifiers: { phone: '13800138000' }, extra: 1 }, 400],
      ['a bad time zone', { purpose: 'marketing', identifiers: { phone: '13800138000' }, timezone: 'Mars/Base' }, 400],
    ])('refuses %s and stores nothing', async (_name, body, status) => {
      const before = await rowCounts();
      const response = await as(crm).write(body);
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.errors ?? response.body.violations).toBeDefined();
      expect(await rowCounts()).toEqual(before);
    });

    it('names the identifier that is not a phone number', async () => {
      const response = await as(crm).write({ purpose: 'marketing', identifiers: { phone: '138abc' } });
      expect(response.body.errors).toEqual([{ path: 'identifiers.phone', message: expect.stringMatching(/phone number/) }]);
    });

    it('refuses prototype-pollution keys without touching any prototype', async () => {
      const before = await rowCounts();
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const raw = `{"purpose":"marketing","identifiers":{"phone":"13800138000"},"attributes":{"${key}":{"polluted":true}}}`;
        const response = await request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${crm}`).set('Content-Type', 'application/json').send(raw);
        expect(response.status).toBe(400);
        expect(response.body.errors).toEqual([{ path: `attributes.${key}`, message: expect.stringMatching(/reserved/) }]);
        const rawId = `{"purpose":"marketing","identifiers":{"${key}":"x","phone":"13800138000"}}`;
        expect((await request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${crm}`).set('Content-Type', 'application/json').send(rawId)).status).toBe(400);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(await rowCounts()).toEqual(before);
    });

    it('answers a ref with path characters like any unknown ref', async () => {
      for (const ref of ['..%2F..%2Fetc%2Fpasswd', 'ref_%2E%2E', "ref_' OR 1=1 --"]) {
        const response = await request(gateway.app).get(`/v1/subjects/${ref}?purpose=marketing`).set('Authorization', `Bearer ${crm}`);
        expect(response.status).toBe(404);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    });
  });

  describe('encryption at rest and audit', () => {
    it('keeps no value readable in the database', async () => {
      const written = await as(crm).write({
        purpose: 'marketing',
        identifiers: { phone: '13300133000', email: 'canary.vault@example.org' },
        attributes: { name: 'Canary Vault Name', pets: ['canarybird'] },
        timezone: 'Pacific/Chatham',
      });
      expect((await as(crm).read(written.body.ref, 'support')).body.timezone).toBe('Pacific/Chatham');
      const db = gateway.runtime.db.read;
      const dump = JSON.stringify(
        [
          await db.subject.findMany(),
          await db.subjectField.findMany(),
          await db.subjectIdentifier.findMany(),
          await db.subjectChange.findMany(),
          await db.subjectRef.findMany(),
          await db.auditEvent.findMany(),
        ],
        (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
      );
      for (const canary of ['13300133000', '+8613300133000', 'canary.vault', 'Canary Vault Name', 'canarybird', 'Chatham']) expect(dump).not.toContain(canary);
    });

    it('seals time zones stored in plain text by an earlier version, and reads both forms', async () => {
      const ref = (await as(crm).write({ purpose: 'support', identifiers: { phone: '13300133001' }, timezone: 'Asia/Kathmandu' })).body.ref as string;
      const { subjectId } = await gateway.runtime.db.read.subjectRef.findUniqueOrThrow({ where: { ref } });
      await gateway.runtime.db.transaction((tx) => tx.subject.update({ where: { id: subjectId }, data: { timezone: 'Asia/Kathmandu' } }));
      expect((await as(crm).read(ref, 'support')).body.timezone).toBe('Asia/Kathmandu');
      expect(await gateway.runtime.subjects.sealLegacyTimezones()).toBe(1);
      expect((await gateway.runtime.db.read.subject.findUniqueOrThrow({ where: { id: subjectId } })).timezone).toMatch(/^~/);
      expect((await as(crm).read(ref, 'support')).body.timezone).toBe('Asia/Kathmandu');
      expect(await gateway.runtime.subjects.sealLegacyTimezones()).toBe(0);
    });

    it('audits every write, read, lookup and refusal with field names only', async () => {
      const events = await auditEvents(gateway);
      const actions = new Set(events.map((e) => `${e.action}:${e.decision}`));
      for (const expected of [
        'subjects.subject.create:allow',
        'subjects.subject.write:allow',
        'subjects.subject.write:deny',
        'subjects.subject.update:allow',
        'subjects.subject.update:deny',
        'subjects.subject.read:allow',
        'subjects.subject.read:deny',
        'subjects.subject.lookup:allow',
        'subjects.subject.lookup:deny',
      ]) {
        expect(actions).toContain(expected);
      }
      const read = events.find((e) => e.action === 'subjects.subject.read' && e.decision === 'allow')!;
      expect(read.subject).toMatch(/^sub_/);
      expect(read.fields.every((f) => ['name', 'pets', 'memberCard'].includes(f))).toBe(true);
      expect(JSON.stringify(events)).not.toMatch(/13800138000|Li Na|cat\.owner/);
    });
  });
});
