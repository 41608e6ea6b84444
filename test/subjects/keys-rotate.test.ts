import request from 'supertest';
import { appToken, createTestApp, startTestGateway, systemContext, verifyLog, type TestGateway } from '../support/gateway.ts';

describe('custos keys rotate', () => {
  let gateway: TestGateway;
  let token: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    token = await appToken(gateway, await createTestApp(gateway, ['marketing', 'support']));
  });
  afterAll(() => gateway.close());

  const write = (body: object) => request(gateway.app).post('/v1/subjects').set('Authorization', `Bearer ${token}`).send(body);
  const lookup = (query: Record<string, string>) => request(gateway.app).get('/v1/subjects/lookup').query(query).set('Authorization', `Bearer ${token}`);
  const read = (ref: string) => request(gateway.app).get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set('Authorization', `Bearer ${token}`);

  it('re-wraps every data key and re-indexes every identifier, while refs, lookups and reads keep working', async () => {
    const people = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const phone = `1380013${String(8000 + i).padStart(4, '0')}`;
        const { body } = await write({ purpose: 'support', identifiers: { phone, memberCard: `MC-${i}` }, attributes: { name: `Person ${i}` } });
        return { phone, ref: body.ref as string, view: (await read(body.ref)).body };
      }),
    );
    const db = gateway.runtime.db.read;
    const wrappedBefore = new Map((await db.subject.findMany()).map((s) => [s.id, s.wrappedKey]));

    const result = await gateway.runtime.subjects.rotateKeys(systemContext(gateway));
    expect(result).toEqual({ version: 2, subjects: 12 });

    const subjects = await db.subject.findMany();
    expect(subjects.every((s) => s.keyVersion === 2 && s.wrappedKey !== wrappedBefore.get(s.id))).toBe(true);
    expect(new Set((await db.subjectIdentifier.findMany()).map((i) => i.keyVersion))).toEqual(new Set([2]));

    for (const person of people) {
      expect((await lookup({ purpose: 'support', phone: person.phone })).body.ref).toBe(person.ref);
      expect((await read(person.ref)).body).toEqual(person.view);
    }
    // The same person written after the rotation is still recognised, not duplicated.
    const again = await write({ purpose: 'support', identifiers: { phone: people[0]!.phone } });
    expect(again.body).toEqual({ ref: people[0]!.ref, created: false, changed: [] });
    expect(await db.subject.count()).toBe(12);
    expect((await verifyLog(gateway)).ok).toBe(true);
  });

  it('demo seed counts only the people it really created when drawn numbers are taken already', async () => {
    const ctx = systemContext(gateway);
    const app = await gateway.runtime.auth.createApp(ctx, { name: 'Seed', purposes: ['support'], reveal: [] });
    const before = await gateway.runtime.db.read.subject.count();
    expect(await gateway.runtime.subjects.seedSubjects(ctx, app.clientId, 30, undefined, { firstSerial: 777 })).toMatchObject({ created: 30 });
    // The same numbers again: every one is taken, so the seed draws on until 20 new people exist.
    const again = await gateway.runtime.subjects.seedSubjects(ctx, app.clientId, 20, undefined, { firstSerial: 777 });
    expect(again.created).toBe(20);
    // The samples are people this run created, not the ones it skipped.
    expect(again.samples).toHaveLength(3);
    for (const sample of again.samples) expect(await gateway.runtime.subjects.subjectOfRef(app.clientId, sample.ref)).toBeDefined();
    expect(await gateway.runtime.db.read.subject.count()).toBe(before + 50);
  });
});
