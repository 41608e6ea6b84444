import request from 'supertest';
import type { Database } from '../../src/storage/database.ts';
import { readSubjectByRef } from '../../src/modules/subjects/store.ts';
import { appToken, createTestApp, databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/** Concurrent subject reads of one shape share one statement, and each gets its own subject's rows. */
describe(`batched subject reads on ${databaseKind}`, () => {
  let gateway: TestGateway;
  let refs: string[];
  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_INTEGRATOR: 'false' });
    const token = await appToken(gateway, await createTestApp(gateway, ['support']));
    refs = [];
    for (let i = 0; i < 5; i++) {
      const written = await request(gateway.app)
        .post('/v1/subjects')
        .set('Authorization', `Bearer ${token}`)
        .send({ purpose: 'support', identifiers: { phone: `1380013860${i}` }, ...(i % 2 === 0 ? { attributes: { name: `Person ${i}` } } : {}) })
        .expect(201);
      refs.push(written.body.ref);
    }
  });
  afterAll(() => gateway.close());

  /** The database, counting the reads sent to it. */
  function counted(): { db: Database; statements: string[] } {
    const statements: string[] = [];
    const db = gateway.runtime.db;
    return { statements, db: { ...db, readRaw: (sql: string, params?: unknown[]) => (statements.push(sql), db.readRaw(sql, params)) } as Database };
  }

  it('answers each ref with its own subject, from one statement', async () => {
    const { db, statements } = counted();
    const unknown = 'ref_unknown000000000000000';
    const answers = await Promise.all([...refs, unknown, refs[0]!].map((ref) => readSubjectByRef(db, ref, ['name'])));
    expect(statements).toHaveLength(1);
    const owners = await gateway.runtime.db.read.subjectRef.findMany({ where: { ref: { in: refs } } });
    refs.forEach((ref, i) => {
      expect(answers[i]!.subject.id).toBe(owners.find((o) => o.ref === ref)!.subjectId);
      // Only the people given a name have a name row.
      expect([...answers[i]!.fields.keys()]).toEqual(i % 2 === 0 ? ['name'] : []);
    });
    expect(answers[5]).toBeUndefined();
    expect(answers[6]).toEqual(answers[0]);
  });

  it('never puts reads of different shapes in one statement', async () => {
    const { db, statements } = counted();
    const [named, bare] = await Promise.all([readSubjectByRef(db, refs[0]!, ['name']), readSubjectByRef(db, refs[0]!, [])]);
    expect(statements).toHaveLength(2);
    expect(named!.fields.has('name')).toBe(true);
    expect(bare!.fields.size).toBe(0);
  });
});
