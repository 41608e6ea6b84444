import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import request from 'supertest';
import { ImportFileError } from '../../src/modules/imports/source.ts';
import { zoneWhereItIs } from '../contacts/zones.ts';
import { appToken, auditEvents, createTestApp, createTestOfficer, databaseKind, officerToken, startTestGateway, systemContext, type AppCredentials, type TestGateway } from '../support/gateway.ts';
import { subjectOwnedTables } from '../support/subject-owned.ts';

const DAY = 86_400_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-import-'));
let files = 0;
const fileOf = (lines: Array<object | string>) => {
  const file = path.join(dir, `import-${++files}.ndjson`);
  fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
};
const iso = (ms: number) => new Date(ms).toISOString();

/** A generated customer base: every person with three consent events, some with a do-not-call flag or a call made yesterday. */
function customers(count: number, first = 0, now = Date.now()) {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
      id: `crm-${i}`,
      purpose: 'marketing',
      identifiers: { phone: `+86139${String(i).padStart(8, '0')}`, email: `c${i}@example.com` },
      attributes: { name: `Customer ${i}`, pets: ['cat'] },
      timezone: zoneWhereItIs(12, new Date(now)),
      consents: [
        { purpose: 'marketing', grantedAt: iso(now - 900 * DAY - i * 1000), source: 'web-form', noticeVersion: '2023-03', channels: ['sms', 'email', 'call'] },
        { purpose: 'marketing', withdrawnAt: iso(now - 400 * DAY - i * 1000), topics: ['bird-food'], source: 'call-centre' },
        { purpose: 'marketing', grantedAt: iso(now - 100 * DAY - i * 1000), source: 'app', noticeVersion: '2025-01', channels: ['sms', 'call'], evidence: `crm:consent/${i}` },
      ],
      ...(i % 10 === 0 ? { doNotCall: { since: iso(now - 50 * DAY), source: 'customer-request' } } : {}),
      ...(i % 3 === 0 ? { contacts: [{ channel: 'call', purpose: 'marketing', at: iso(now - 2 * 3_600_000) }] } : {}),
    };
  });
}

describe(`imports on ${databaseKind}`, () => {
  let gateway: TestGateway;
  let crm: AppCredentials;
  let token: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    crm = await createTestApp(gateway, ['marketing', 'support']);
    token = await appToken(gateway, crm);
  });
  afterAll(() => gateway.close());

  const ctx = () => systemContext(gateway);
  const importFile = (file: string, options: Partial<Parameters<TestGateway['runtime']['imports']['importFile']>[2]> = {}) =>
    gateway.runtime.imports.importFile(ctx(), file, { app: crm.clientId, format: 'ndjson', dryRun: false, ...options });
  const refOf = async (importId: string, crmId: string) => (await gateway.runtime.imports.refs(importId)).find((r) => r.id === crmId)?.ref;
  const authorize = (ref: string, channel: string, topic?: string) =>
    request(gateway.app)
      .post('/v1/contacts/authorize')
      .set('Authorization', `Bearer ${token}`)
      .send({ ref, channel, purpose: 'marketing', ...(topic ? { topic } : {}) });
  const consents = async (ref: string) => (await request(gateway.app).get(`/v1/subjects/${ref}/consents`).set('Authorization', `Bearer ${token}`)).body;
  /** Rows per subject-owned table (from the schema), for "nothing was written". */
  const tableCounts = async () => {
    const counts: Record<string, number> = {};
    for (const table of [...subjectOwnedTables(), 'subject', 'audit_event', 'import_run', 'dnc_entry']) {
      const [row] = await gateway.runtime.db.readRaw<{ n: unknown }>(`SELECT COUNT(*) AS "n" FROM ${table}`);
      counts[table] = Number(row!.n);
    }
    return counts;
  };

  it('imports 10,000 customers with their history, flags and contacts, and a second run of the file changes nothing', async () => {
    const now = Date.now();
    const file = fileOf(customers(10_000, 0, now));
    const first = await importFile(file);
    expect(first.status).toBe('completed');
    expect(first.counts).toEqual({ created: 10_000, updated: 0, unchanged: 0, refused: 0, consentEvents: 30_000, doNotCall: 1000, contacts: 3334, contactsTooOld: 0 });
    expect(first.errors).toEqual([]);
    const after = await tableCounts();
    expect(after).toMatchObject({ subject: 10_000, consent_event: 30_000, consent_state: 10_000, contact_reservation: 3334, import_ref: 10_000, subject_identifier: 20_000, dnc_entry: 1000 });
    // Every person written has its audit event naming the import.
    const imported = await auditEvents(gateway, 'subjects.subject.import');
    expect(imported).toHaveLength(10_000);
    expect(imported.every((e) => e.reasons.some((r) => r.code === 'import' && r.detail === first.id))).toBe(true);

    const again = await importFile(file);
    expect(again.counts).toEqual({ created: 0, updated: 0, unchanged: 10_000, refused: 0, consentEvents: 0, doNotCall: 0, contacts: 0, contactsTooOld: 0 });
    const afterAgain = await tableCounts();
    for (const table of ['subject', 'consent_event', 'consent_state', 'contact_reservation', 'subject_identifier', 'subject_field', 'subject_change', 'dnc_entry'])
      expect({ table, rows: afterAgain[table] }).toEqual({ table, rows: after[table] });

    // The refs map the CRM's ids one to one.
    const refs = await gateway.runtime.imports.refs(first.id);
    expect(refs).toHaveLength(10_000);
    expect(new Set(refs.map((r) => r.ref)).size).toBe(10_000);
    expect(refs[42]!.id).toBe('crm-42');

    // History as it happened, in its original times: a grant, a topic withdrawal, then a grant that narrowed the consent to sms and call.
    const person = await consents((await refOf(first.id, 'crm-7'))!);
    const marketing = person.purposes.find((p: { purpose: string }) => p.purpose === 'marketing');
    expect(marketing).toMatchObject({ status: 'active', channels: ['sms', 'call'], noticeVersion: '2025-01', grantedAt: iso(now - 100 * DAY - 7000) });
    expect(person.history.map((h: { kind: string; at: string }) => [h.kind, h.at])).toEqual([
      ['grant', iso(now - 900 * DAY - 7000)],
      ['withdraw', iso(now - 400 * DAY - 7000)],
      ['narrow', iso(now - 100 * DAY - 7000)],
    ]);

    // Caps count the call the old dialer made two hours ago (one marketing call a day); a flagged number is on the list.
    const called = (await authorize((await refOf(first.id, 'crm-3'))!, 'call', 'cat-food')).body;
    expect(called.decision).toBe('deny');
    expect(called.reasons.map((r: { code: string }) => r.code)).toContain('frequency-cap');
    const flagged = (await authorize((await refOf(first.id, 'crm-10'))!, 'sms', 'cat-food')).body;
    expect(flagged.reasons.map((r: { code: string }) => r.code)).toContain('do-not-call');
    expect((await authorize((await refOf(first.id, 'crm-4'))!, 'call', 'cat-food')).body.decision).toBe('allow');
  }, 300_000);

  it('keeps an old withdrawal over an older grant, a topic opt-out, and history older than a live grant in its place in time', async () => {
    const now = Date.now();
    const people = [
      {
        id: 'crm-a',
        purpose: 'marketing',
        identifiers: { phone: '+8613700000001' },
        consents: [
          { purpose: 'marketing', withdrawnAt: '2024-02-01T00:00:00Z', source: 'call-centre' },
          { purpose: 'marketing', grantedAt: '2023-01-01T00:00:00Z', source: 'paper', noticeVersion: 'v1' },
        ],
      },
      {
        id: 'crm-b',
        purpose: 'marketing',
        identifiers: { phone: '+8613700000002' },
        consents: [
          { purpose: 'marketing', grantedAt: '2023-04-01T09:30:00Z', source: 'web-form', noticeVersion: '2023-03' },
          { purpose: 'marketing', withdrawnAt: '2023-11-02T10:00:00Z', topics: ['bird-food'], source: 'call-centre' },
        ],
      },
    ];
    const run = await importFile(fileOf(people));
    const a = await consents((await refOf(run.id, 'crm-a'))!);
    expect(a.purposes[0]).toMatchObject({ purpose: 'marketing', status: 'withdrawn' });
    const bRef = (await refOf(run.id, 'crm-b'))!;
    const b = await consents(bRef);
    expect(b.purposes[0]).toMatchObject({ status: 'active', withdrawnTopics: ['bird-food'] });
    expect(b.purposes[0].topics).not.toContain('bird-food');

    // A live grant today, then a second import bringing a 2022 withdrawal: the withdrawal is older, so today's grant stands.
    await request(gateway.app).put(`/v1/subjects/${bRef}/consents/marketing`).set('Authorization', `Bearer ${token}`).send({ source: 'app', noticeVersion: '2026-12' }).expect(200);
    const late = await importFile(fileOf([{ ...people[1]!, consents: [...people[1]!.consents, { purpose: 'marketing', withdrawnAt: '2022-06-01T00:00:00Z', source: 'archive' }] }]));
    expect(late.counts).toMatchObject({ updated: 1, consentEvents: 1 });
    const afterLate = await consents(bRef);
    expect(afterLate.purposes[0]).toMatchObject({ status: 'active', noticeVersion: '2026-12' });
    expect(afterLate.history.map((h: { at: string }) => h.at.slice(0, 10))).toEqual(['2022-06-01', '2023-04-01', '2023-11-02', now ? new Date().toISOString().slice(0, 10) : '']);
  });

  it('gives imported grants receipts that verify against the JWKS, carry the original time and say they were imported', async () => {
    const run = await importFile(
      fileOf([
        {
          id: 'crm-r',
          purpose: 'marketing',
          identifiers: { phone: '+8613700000003' },
          consents: [{ purpose: 'marketing', grantedAt: '2023-04-01T09:30:00Z', source: 'web-form', noticeVersion: '2023-03' }],
        },
      ]),
    );
    const subjectId = (await gateway.runtime.db.read.importRef.findFirst({ where: { importId: run.id } }))!.subjectId;
    const entry = (await gateway.runtime.db.read.consentEvent.findFirst({ where: { subjectId } }))!;
    expect(entry).toMatchObject({ importId: run.id, source: 'web-form', kind: 'grant' });
    const jwks = (await request(gateway.app).get('/.well-known/jwks.json')).body;
    const { payload } = await jwtVerify(entry.receipt!, createLocalJWKSet(jwks), { issuer: 'http://custos.test' });
    expect(payload).toMatchObject({ collectionMethod: 'web-form (imported)', consentTimestamp: Date.parse('2023-04-01T09:30:00Z') / 1000, sub: await refOf(run.id, 'crm-r') });
    expect((payload.custos as { imported: { importId: string } }).imported.importId).toBe(run.id);
    expect(decodeJwt(entry.receipt!).iat).toBeGreaterThan(Date.parse('2026-01-01') / 1000);
  });

  it('refuses bad rows by line, field and reason, never by value, and writes the rest', async () => {
    const canary = 'CANARY-7f3a';
    const held = { id: 'crm-held', purpose: 'marketing', identifiers: { phone: '+8613700000010', email: 'held@example.com' } };
    await importFile(fileOf([held, { id: 'crm-other', purpose: 'marketing', identifiers: { email: 'other@example.com' } }]));
    const before = await tableCounts();
    const run = await importFile(
      fileOf([
        { id: 'ok-1', purpose: 'marketing', identifiers: { phone: '+8613700000011' } },
        { id: 'bad-field', purpose: 'marketing', identifiers: { phone: '+8613700000012' }, attributes: { birthday: canary } },
        { id: 'bad-phone', purpose: 'marketing', identifiers: { phone: `${canary}-not-a-number` } },
        { id: 'two-people', purpose: 'marketing', identifiers: { phone: '+8613700000010', email: 'other@example.com' } },
        { id: 'contradicts', purpose: 'marketing', identifiers: { phone: '+8613700000010', email: `${canary.toLowerCase()}@example.com` } },
        { id: 'not-granted', purpose: 'analytics', identifiers: { phone: '+8613700000013' } },
        { id: 'not-consent', purpose: 'marketing', identifiers: { phone: '+8613700000014' }, consents: [{ purpose: 'support', grantedAt: '2024-01-01T00:00:00Z' }] },
        { id: 'future', purpose: 'marketing', identifiers: { phone: '+8613700000015' }, contacts: [{ channel: 'call', purpose: 'marketing', at: '2999-01-01T00:00:00Z' }] },
        { id: 'no-phone', purpose: 'marketing', identifiers: { email: 'nophone@example.com' }, doNotCall: { since: '2024-01-01T00:00:00Z' } },
        { id: 'ok-2', purpose: 'marketing', identifiers: { phone: '+8613700000016' } },
      ]),
    );
    expect(run.counts).toMatchObject({ created: 2, refused: 8 });
    expect(run.errors.map((e) => [e.line, e.field, e.reason])).toEqual([
      [2, 'attributes.birthday', 'not-collected-for-purpose'],
      [3, 'identifiers.phone', 'invalid-identifier'],
      [4, 'identifiers.phone', 'identifiers-match-different-people'],
      [4, 'identifiers.email', 'identifiers-match-different-people'],
      [5, 'identifiers.email', 'identifier-contradicts-held-value'],
      [6, 'purpose', 'unknown-purpose'],
      [7, 'consents[0].purpose', "the purpose's lawful basis is contract, not consent"],
      [8, 'contacts[0].at', 'is in the future'],
      [9, 'doNotCall', 'needs identifiers.phone: the do-not-call list holds phone numbers'],
    ]);
    const afterRun = await tableCounts();
    expect(afterRun.subject).toBe(before.subject! + 2);
    expect(JSON.stringify(run)).not.toContain(canary);
    expect(gateway.logs.join('\n')).not.toContain(canary);
    expect(gateway.logs.join('\n').toLowerCase()).not.toContain(canary.toLowerCase());
  });

  it('stops at --max-errors with what it committed kept', async () => {
    const rows = [
      ...Array.from({ length: 3 }, (_, i) => ({ id: `m-${i}`, purpose: 'marketing', identifiers: { phone: `+86137100000${10 + i}` } })),
      { id: 'bad-1', purpose: 'nope', identifiers: { phone: '+8613710000020' } },
      { id: 'bad-2', purpose: 'nope', identifiers: { phone: '+8613710000021' } },
      { id: 'm-late', purpose: 'marketing', identifiers: { phone: '+8613710000022' } },
    ];
    const run = await importFile(fileOf(rows), { maxErrors: 2 });
    expect(run).toMatchObject({ status: 'stopped', linesCommitted: 5, counts: { created: 3, refused: 2 } });
    expect(await refOf(run.id, 'm-late')).toBeUndefined();
    // A resume reads the lines the import committed again and refuses a file whose lines differ, or that has fewer.
    await expect(importFile(fileOf(rows.slice(0, 2)), { resume: run.id })).rejects.toThrow(/is not the file the import read/);
    await expect(importFile(fileOf([{ ...rows[0]!, id: 'changed' }, ...rows.slice(1)]), { resume: run.id })).rejects.toThrow(/the lines it committed differ/);
    const resumed = await importFile(fileOf(rows), { resume: run.id });
    expect(resumed).toMatchObject({ id: run.id, status: 'completed', linesCommitted: 6, counts: { created: 4, refused: 2 } });
  });

  it('checks a dry run whole and writes nothing at all', async () => {
    const before = await tableCounts();
    const run = await importFile(fileOf(customers(300, 50_000)), { dryRun: true });
    expect(run.counts).toMatchObject({ created: 300, consentEvents: 900, doNotCall: 30, contacts: 100 });
    expect(await tableCounts()).toEqual(before);
  });

  it('refuses a file that is not what it claims before writing anything', async () => {
    const before = await tableCounts();
    await expect(importFile(fileOf([{ id: 'x', purpose: 'marketing', identifiers: { phone: '+8613700000090' } }, 'not json at all']))).rejects.toThrow(ImportFileError);
    await expect(importFile(fileOf([JSON.stringify({ id: 'x', purpose: 'marketing', identifiers: { phone: '+8613700000091' }, attributes: { name: 'x'.repeat(1_100_000) } })]))).rejects.toThrow(
      /line 1: is longer than 1048576 bytes/,
    );
    await expect(importFile(fileOf(['[1, 2, 3]']))).rejects.toThrow(/line 1: is not a JSON object/);
    await expect(importFile(fileOf([{ id: 'x', purpose: 'marketing', identifiers: { phone: '+8613700000092' } }]), { app: 'app_nobody' })).rejects.toThrow(/app: no app in service/);
    expect(await tableCounts()).toEqual(before);
  });

  it('reads a CRM export as it is through a mapping', async () => {
    const csv = path.join(dir, 'export.csv');
    fs.writeFileSync(
      csv,
      '\uFEFFcustomer_no,mobile,full_name,pets,opted_in,opted_out,dnc_since,last_call\r\n' +
        'C-1,+86 136 0000 0001,"Zhang, Wei",cat;dog,2023-04-01T09:30:00Z,,2024-05-01T00:00:00Z,\r\n' +
        `C-2,+86 136 0000 0002,"Li ""Na""",fish,2023-04-01T09:30:00Z,2024-01-01T00:00:00Z,,${iso(Date.now() - 3_600_000)}\r\n`,
    );
    const mapping = gateway.runtime.imports.mappingOf({
      purpose: 'marketing',
      columns: { id: 'customer_no', 'identifiers.phone': 'mobile', 'attributes.name': 'full_name', 'attributes.pets': { column: 'pets', split: ';' } },
      consents: [{ purpose: 'marketing', grantedAt: 'opted_in', withdrawnAt: 'opted_out', channels: ['sms', 'call'], source: 'crm', noticeVersion: '2023-03' }],
      doNotCall: { since: 'dnc_since', source: 'crm' },
      contacts: [{ channel: 'call', purpose: 'marketing', at: 'last_call' }],
    });
    const run = await importFile(csv, { format: 'csv', mapping });
    expect(run.counts).toMatchObject({ created: 2, refused: 0, consentEvents: 3, doNotCall: 1, contacts: 1 });
    const second = await consents((await refOf(run.id, 'C-2'))!);
    expect(second.purposes[0].status).toBe('withdrawn');
    expect(() => gateway.runtime.imports.mappingOf({ purpose: 'marketing', columns: { id: 'customer_no', 'attributes.shoeSize': 'size' } })).toThrow(
      /mapping.columns.attributes.shoeSize: names a field the policy does not declare/,
    );
    const unknownColumn = gateway.runtime.imports.mappingOf({ purpose: 'marketing', columns: { id: 'customer_no', 'identifiers.phone': 'phone_number' } });
    await expect(importFile(csv, { format: 'csv', mapping: unknownColumn })).rejects.toThrow(/names columns the CSV header does not have: phone_number/);
  });

  it('runs one import per app at a time', async () => {
    const file = fileOf(customers(400, 60_000));
    const [a, b] = await Promise.allSettled([importFile(file), importFile(file)]);
    const outcomes = [a, b].map((o) => o.status);
    expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
    const refused = [a, b].find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason)).toMatch(/another import for this app is running/);
  });

  it('takes an upload over HTTP, answers 202, and shows progress, counts and refs to an admin', async () => {
    const admin = await createTestOfficer(gateway, 'admin');
    const adminToken = await officerToken(gateway, admin.username, admin.password);
    const body = customers(50, 70_000)
      .map((c) => JSON.stringify(c))
      .join('\n');
    const started = await request(gateway.app).post('/v1/imports').query({ app: crm.clientId }).set('Authorization', `Bearer ${adminToken}`).set('Content-Type', 'application/x-ndjson').send(body);
    expect(started.status).toBe(202);
    expect(started.headers.location).toBe(`/v1/imports/${started.body.id}`);
    let view = started.body;
    while (view.status === 'running') view = (await request(gateway.app).get(`/v1/imports/${started.body.id}`).set('Authorization', `Bearer ${adminToken}`)).body;
    expect(view).toMatchObject({ status: 'completed', counts: { created: 50 } });
    const withRefs = (await request(gateway.app).get(`/v1/imports/${started.body.id}`).query({ refs: 'true' }).set('Authorization', `Bearer ${adminToken}`)).body;
    expect(withRefs.refs).toHaveLength(50);
    const listed = (await request(gateway.app).get('/v1/imports').set('Authorization', `Bearer ${adminToken}`)).body;
    expect(listed.imports.map((i: { id: string }) => i.id)).toContain(started.body.id);

    const bad = await request(gateway.app)
      .post('/v1/imports')
      .query({ app: crm.clientId })
      .set('Authorization', `Bearer ${adminToken}`)
      .set('Content-Type', 'application/x-ndjson')
      .send('{"id": 1}\nnot json');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: 'line 2', message: 'is not JSON: an NDJSON file holds one JSON object a line' }]);
    const wrongType = await request(gateway.app).post('/v1/imports').query({ app: crm.clientId }).set('Authorization', `Bearer ${adminToken}`).set('Content-Type', 'text/plain').send('x');
    expect(wrongType.status).toBe(415);
    const dry = await request(gateway.app)
      .post('/v1/imports')
      .query({ app: crm.clientId, dryRun: 'true' })
      .set('Authorization', `Bearer ${adminToken}`)
      .set('Content-Type', 'application/x-ndjson')
      .send(body);
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, counts: { unchanged: 50 } });
    const agent = await createTestOfficer(gateway, 'privacy-agent');
    const forbidden = await request(gateway.app)
      .get('/v1/imports')
      .set('Authorization', `Bearer ${await officerToken(gateway, agent.username, agent.password)}`);
    expect(forbidden.status).toBe(403);
  });
});
