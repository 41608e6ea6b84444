import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { zoneWhereItIs } from '../contacts/zones.ts';
import { appToken, createTestApp, createTestOfficer, databaseKind, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { rowsOf, subjectOwnedTables } from '../support/subject-owned.ts';

/**
 * Erased means gone, also when writers race the erasure: every writer of a
 * person's rows (consent grant and withdrawal, capped and uncapped contact
 * authorizations, an app's correction of the record, an import of the
 * person from the CRM) is sent at the same
 * moment as the agent's approval of the person's erasure. Afterwards no
 * subject-owned table (read from the schema) holds a row of that person, and
 * every write was answered 2xx (it landed before the erasure, which then took
 * it) or 404 (it lost, like an unknown ref); none got a 5xx.
 */
const ROUNDS = 50;

describe(`writers racing an erasure on ${databaseKind}`, () => {
  let gateway: TestGateway;
  let crm: string;
  let crmId: string;
  let agent: string;
  let admin: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ REQUESTS_RATE_LIMIT_PER_MINUTE: '10000' });
    const crmApp = await createTestApp(gateway, ['marketing', 'support'], ['call', 'sms', 'email']);
    crmId = crmApp.clientId;
    crm = await appToken(gateway, crmApp);
    const officer = await createTestOfficer(gateway, 'privacy-agent');
    agent = await officerToken(gateway, officer.username, officer.password);
    const administrator = await createTestOfficer(gateway, 'admin');
    admin = await officerToken(gateway, administrator.username, administrator.password);
  });
  afterAll(() => gateway.close());

  const app = () => request(gateway.app);
  const importDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-race-import-'));
  /** An import's outcome as an answer: 200 when it completed (it may have made the person anew after the erasure), its error's status otherwise. */
  const importAnswer = async (file: string) => {
    try {
      const run = await gateway.runtime.imports.importFile({ actor: { type: 'system', id: 'test' }, requestId: 'race-import', policyVersion: gateway.runtime.loaded.version }, file, {
        app: crmId,
        format: 'ndjson',
        dryRun: false,
      });
      return { status: run.status === 'completed' && run.counts.refused === 0 ? 200 : 500, body: {}, text: JSON.stringify(run) };
    } catch (error) {
      return { status: (error as { status?: number }).status ?? 500, body: {}, text: String(error) };
    }
  };
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function codeOf(requestId: string): Promise<string> {
    const outbox = await app().get('/v1/notifier/outbox').query({ requestId }).set(bearer(admin));
    return /code is (\d{6})/.exec(outbox.body.messages[0].text)![1]!;
  }

  /** A person with a consent to market to them, and their erasure request verified and waiting for the agent. */
  async function personAwaitingErasure(n: number): Promise<{ ref: string; subjectId: string; requestId: string }> {
    const phone = `1390013${String(n).padStart(4, '0')}`;
    const written = await app()
      .post('/v1/subjects')
      .set(bearer(crm))
      .send({ purpose: 'marketing', identifiers: { phone, email: `race-${n}@example.com` }, attributes: { name: 'Wang Fang', pets: ['cat'] }, timezone: zoneWhereItIs(12) });
    expect(written.status).toBe(201);
    const ref = written.body.ref as string;
    expect((await app().put(`/v1/subjects/${ref}/consents/marketing`).set(bearer(crm)).send({ source: 'web-form', noticeVersion: 'n1' })).status).toBe(200);
    const [{ subjectId }] = (await gateway.runtime.db.readRaw<{ subjectId: string }>('SELECT subject_id AS "subjectId" FROM subject_ref WHERE ref = ?', [ref])) as [{ subjectId: string }];
    const submitted = await app().post('/v1/privacy-requests').send({ type: 'erasure', identifier: { phone } });
    const verified = await app()
      .post(`/v1/privacy-requests/${submitted.body.id}/verify`)
      .set(bearer(submitted.body.statusToken))
      .send({ code: await codeOf(submitted.body.id) });
    expect(verified.body.status).toBe('pending-approval');
    return { ref, subjectId, requestId: submitted.body.id };
  }

  it(`leaves no row of the person in any subject-owned table, in ${ROUNDS} rounds`, async () => {
    const tables = subjectOwnedTables();
    const answers = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const { ref, subjectId, requestId } = await personAwaitingErasure(round);
      const writes: Array<[string, () => PromiseLike<{ status: number; body: { receipt?: string }; text: string }>]> = [
        [
          'grant',
          () =>
            app()
              .put(`/v1/subjects/${ref}/consents/marketing`)
              .set(bearer(crm))
              .send({ source: 'web-form', noticeVersion: 'n2', channels: ['sms'] }),
        ],
        [
          'withdraw',
          () =>
            app()
              .delete(`/v1/subjects/${ref}/consents/marketing`)
              .set(bearer(crm))
              .send({ source: 'call-centre', topics: ['bird-food'] }),
        ],
        ['authorize-capped', () => app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'sms', purpose: 'marketing' })],
        ['authorize-uncapped', () => app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'email', purpose: 'marketing' })],
        [
          'correction',
          () =>
            app()
              .patch(`/v1/subjects/${ref}`)
              .set(bearer(crm))
              .send({ purpose: 'marketing', identifiers: {}, attributes: { name: 'Wang Fang-Li' } }),
        ],
      ];
      // An import naming the person (its CRM's row), with history, a flag and a contact, among them.
      const crmRow = path.join(importDir, `round-${round}.ndjson`);
      fs.writeFileSync(
        crmRow,
        JSON.stringify({
          id: `crm-${round}`,
          purpose: 'marketing',
          identifiers: { phone: `1390013${String(round).padStart(4, '0')}`, email: `race-${round}@example.com` },
          attributes: { name: 'Wang Fang' },
          consents: [
            { purpose: 'marketing', grantedAt: '2024-01-01T00:00:00Z', source: 'crm' },
            { purpose: 'marketing', withdrawnAt: '2024-06-01T00:00:00Z', topics: ['cat-food'], source: 'crm' },
          ],
          doNotCall: { since: '2024-02-01T00:00:00Z', source: 'crm' },
          contacts: [{ channel: 'call', purpose: 'marketing', at: new Date(Date.now() - 3_600_000).toISOString() }],
        }) + '\n',
      );
      writes.push(['import', () => importAnswer(crmRow)]);
      // The erasure goes at a different point among the writers each round.
      const at = round % (writes.length + 1);
      const erase = () => app().post(`/v1/privacy-requests/${requestId}/decision`).set(bearer(agent)).send({ decision: 'approve', reason: 'the person asked' });
      const sent = [...writes.slice(0, at).map(([, send]) => send()), erase(), ...writes.slice(at).map(([, send]) => send())];
      const settled = await Promise.all(sent);
      const erasure = settled[at]!;
      expect({ round, status: erasure.status, request: erasure.body.status }).toEqual({ round, status: 200, request: 'completed' });
      settled
        .filter((_, i) => i !== at)
        .forEach((response, i) => {
          const name = writes[i]![0];
          answers.set(`${name} ${response.status}`, (answers.get(`${name} ${response.status}`) ?? 0) + 1);
          expect({ round, name, answered: [200, 201, 404].includes(response.status) ? 'as it should' : `${response.status} ${response.text}` }).toEqual({ round, name, answered: 'as it should' });
          // A receipt is issued only for a grant that landed.
          if (name === 'grant' && response.status === 404) expect(response.body.receipt).toBeUndefined();
        });
      expect({ round, rows: await rowsOf(gateway, tables, subjectId) }).toEqual({ round, rows: Object.fromEntries(tables.map((t) => [t, 0])) });
      // The ref is gone for every later request too.
      expect((await app().post('/v1/contacts/authorize').set(bearer(crm)).send({ ref, channel: 'email', purpose: 'marketing' })).status).toBe(404);
    }
    // Both outcomes happened: the test raced, it did not only run the writers before or after the erasure.
    const statuses = [...answers.keys()];
    expect(statuses.some((s) => s.endsWith(' 404'))).toBe(true);
    expect(statuses.some((s) => / 20[01]$/.test(s))).toBe(true);
  }, 240_000);

  it('an approval and a rejection of one erasure at once: exactly one wins, and the data matches it', async () => {
    const tables = subjectOwnedTables();
    const winners = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const { ref, subjectId, requestId } = await personAwaitingErasure(1000 + round);
      const decide = (decision: 'approve' | 'reject') =>
        app()
          .post(`/v1/privacy-requests/${requestId}/decision`)
          .set(bearer(agent))
          .send({ decision, reason: `${decision} in round ${round}` });
      const [approve, reject] = round % 2 === 0 ? await Promise.all([decide('approve'), decide('reject')]) : (await Promise.all([decide('reject'), decide('approve')])).reverse();
      expect([approve!.status, reject!.status].sort()).toEqual([200, 409]);
      const won = approve!.status === 200 ? 'approve' : 'reject';
      winners.add(won);
      const view = await app().get(`/v1/privacy-requests/${requestId}`).set(bearer(agent));
      const rows = await rowsOf(gateway, tables, subjectId);
      if (won === 'approve') {
        expect({ round, status: view.body.status, rows }).toEqual({ round, status: 'completed', rows: Object.fromEntries(tables.map((t) => [t, 0])) });
      } else {
        expect({ round, status: view.body.status, decisionReason: view.body.decisionReason }).toEqual({ round, status: 'rejected', decisionReason: `reject in round ${round}` });
        expect({ round, ref: (await app().get(`/v1/subjects/${ref}`).query({ purpose: 'marketing' }).set(bearer(crm))).status, fields: rows.subject_field }).toEqual({ round, ref: 200, fields: 4 });
      }
    }
    expect(winners.size).toBeGreaterThan(0);
  }, 120_000);

  it('an approval left half-done by a crash is carried on by the sweep: the data ends erased and the request completed', async () => {
    const { subjectId, requestId } = await personAwaitingErasure(2000);
    // What a crash right after the decision leaves: the request moved to approved, its effect not applied.
    const stale = new Date(Date.now() - 5 * 60_000);
    await gateway.runtime.db.transaction((tx) => tx.privacyRequest.update({ where: { id: requestId }, data: { status: 'approved', updatedAt: stale } }));
    expect((await rowsOf(gateway, ['subject_field'], subjectId)).subject_field).toBeGreaterThan(0);
    const swept = await gateway.runtime.requests.sweep({ actor: { type: 'system', id: 'test' }, requestId: 'sweep-test', policyVersion: gateway.runtime.loaded.version });
    expect(swept.advanced).toBeGreaterThanOrEqual(1);
    expect((await app().get(`/v1/privacy-requests/${requestId}`).set(bearer(agent))).body.status).toBe('completed');
    expect(await rowsOf(gateway, subjectOwnedTables(), subjectId)).toEqual(Object.fromEntries(subjectOwnedTables().map((t) => [t, 0])));
  });

  it("retention decides under the erasure's hold: a write that lands first keeps the person, one that comes after gets 404", async () => {
    const later = new Date(Date.now() + 3 * 365 * 86_400_000);
    const outcomes = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const written = await app()
        .post('/v1/subjects')
        .set(bearer(crm))
        .send({ purpose: 'marketing', identifiers: { email: `retained-${round}@example.com` }, attributes: { name: 'Zhao Lei' } });
      const ref = written.body.ref as string;
      // Held for support (a contract, no retention): once this write lands, retention must keep the person.
      const [run, keep] = await Promise.all([
        gateway.runtime.runRetention({ actor: { type: 'system', id: 'test' }, requestId: `retention-${round}`, policyVersion: gateway.runtime.loaded.version }, { dryRun: false, now: later }),
        app()
          .patch(`/v1/subjects/${ref}`)
          .set(bearer(crm))
          .send({ purpose: 'support', attributes: { name: 'Zhao Lei (customer)' } }),
      ]);
      const read = await app().get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set(bearer(crm));
      outcomes.add(`${keep.status}`);
      if (keep.status === 200) expect({ round, kept: read.status, name: read.body.attributes?.name }).toEqual({ round, kept: 200, name: 'Zhao Lei (customer)' });
      else expect({ round, write: keep.status, read: read.status, erased: run.subjects > 0 }).toEqual({ round, write: 404, read: 404, erased: true });
    }
    expect([...outcomes].filter((s) => s !== '200' && s !== '404')).toEqual([]);
  }, 120_000);
});
