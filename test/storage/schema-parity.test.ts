import { Prisma } from '../../src/generated/postgresql/client.ts';
import type { Tx } from '../../src/storage/database.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { rowsOf, schemaText, subjectOwnedTables } from '../support/subject-owned.ts';

/**
 * The migration SQL (per engine) and prisma/schema.prisma are written by hand
 * and must agree. Every model Prisma knows (its generated ModelName list) has a
 * row here that sets every column the schema declares to a non-null value;
 * writing it and finding it again by all of those values proves each column
 * exists with a type that round-trips, on the engine this run uses (CI runs
 * both). A new model or column without a row here fails the test.
 */
const at = new Date('2026-03-04T05:06:07.089Z');
const huge = 9_007_199_254_740_993n; // beyond Number.MAX_SAFE_INTEGER: BIGINT must stay exact

type Row = Record<string, unknown>;
/** How a model's row gets there: created here, or already made by the migrations or a trigger. */
type Fixture = { row: Row; via?: 'create' | 'update' | 'trigger' };

const fixtures: Record<Prisma.ModelName, Fixture> = {
  App: { row: { id: 'app_parity', name: 'Parity', secretHash: '$argon2id$x', purposes: '["support"]', reveal: '["call"]', createdAt: at, removedAt: at } },
  Officer: { row: { id: 'off_parity', username: 'parity', role: 'admin', passwordHash: '$argon2id$y', createdAt: at, disabledAt: at } },
  AuditEvent: {
    row: {
      no: huge,
      id: 'evt_parity',
      at,
      actorType: 'system',
      actorId: 'cli:root',
      action: 'test.parity',
      decision: 'info',
      subject: 'sub_x',
      purpose: 'support',
      fields: '["name"]',
      reasons: '[{"code":"x"}]',
      requestId: 'req',
      policyVersion: 'v',
    },
  },
  // The insert trigger queues every new event for the integrator.
  AuditPending: { row: { no: huge }, via: 'trigger' },
  AuditLeaf: { row: { leafIndex: huge, eventNo: huge, leafHash: 'a'.repeat(64), chainHash: 'b'.repeat(64) } },
  // The migrations create the one state row; it is updated, never inserted.
  AuditTreeState: { row: { id: 1, treeSize: huge, chainHash: 'c'.repeat(64), frontier: '["f"]' }, via: 'update' },
  AuditTreeNode: { row: { level: 8, idx: huge, hash: 'd'.repeat(64) } },
  AuditTreeHead: { row: { treeSize: huge, rootHash: 'e'.repeat(64), signedAt: at, signature: 'jws' } },
  AuditStatHour: { row: { hour: '2026-03-04T05', action: 'test.parity', decision: 'deny', reason: 'frequency-cap', count: huge } },
  KeyVersion: { row: { version: 99, createdAt: at } },
  Subject: { row: { id: 'sub_parity', timezone: 'Asia/Shanghai', keyVersion: 99, wrappedKey: 'wrapped', createdAt: at, updatedAt: at } },
  SubjectIdentifier: { row: { kind: 'phone', keyVersion: 99, digest: 'digest-parity', subjectId: 'sub_parity' } },
  SubjectField: { row: { subjectId: 'sub_parity', field: 'name', ciphertext: 'sealed', updatedAt: at } },
  SubjectChange: { row: { id: 'chg_parity', subjectId: 'sub_parity', field: 'name', change: 'set', ciphertext: 'sealed', purpose: 'support', actorId: 'app_parity', requestId: 'req', changedAt: at } },
  SubjectRef: { row: { ref: 'ref_parity', appId: 'app_parity', subjectId: 'sub_parity', createdAt: at } },
  ConsentEvent: {
    row: {
      id: 'ce_parity',
      subjectId: 'sub_parity',
      seq: 1,
      purpose: 'marketing',
      kind: 'grant',
      channels: '["sms"]',
      topics: '["cat-food"]',
      recipients: '["brand"]',
      source: 's',
      noticeVersion: 'n',
      expiresAt: at,
      gpc: true,
      receiptId: 'r',
      receipt: 'jws',
      actorId: 'a',
      requestId: 'q',
      at,
      evidence: 'crm:consent/1',
      importId: 'imp_parity',
    },
  },
  ImportRun: {
    row: {
      id: 'imp_parity',
      appId: 'app_parity',
      format: 'ndjson',
      status: 'failed',
      dryRun: true,
      committedLine: 7,
      committedDigest: 'f'.repeat(64),
      counts: '{"created":1}',
      errors: '[{"line":2,"reason":"x"}]',
      errorCount: 3,
      startedBy: 'off_parity',
      startedAt: at,
      updatedAt: at,
      finishedAt: at,
    },
  },
  ImportRef: { row: { importId: 'imp_parity', line: 7, externalId: 'crm-1', subjectId: 'sub_parity' } },
  ContactReservation: {
    row: {
      ticket: 'tkt_parity',
      subjectId: 'sub_parity',
      appId: 'app_parity',
      channel: 'call',
      purpose: 'marketing',
      topic: 'cat-food',
      status: 'sent',
      reservedAt: at,
      expiresAt: at,
      revealedAt: at,
      outcomeAt: at,
    },
  },
  ContactIdempotency: { row: { appId: 'app_parity', key: 'idem', requestHash: 'h'.repeat(64), response: '{}', createdAt: at } },
  DncEntry: { row: { id: 'dnc_parity', source: 'internal', importId: 'imp', keyVersion: 99, digest: 'digest-parity', note: 'sealed note', createdAt: at } },
  DncSource: { row: { source: 'registry', importId: 'imp_parity', importNo: 2_000_000_000, entries: 7, importedAt: at } },
  DncImport: { row: { importNo: 2_000_000_000, importId: 'imp_parity', source: 'registry', keyVersion: 99, startedAt: at } },
  DncNumber: { row: { importNo: 2_000_000_000, tag: -huge } },
  PrivacyRequest: {
    row: {
      id: 'prq_parity',
      type: 'erasure',
      status: 'pending-approval',
      identifierKind: 'phone',
      identifierDigest: 'digest',
      submitterDigest: 'submitter',
      sealedIdentifier: 'sealed-id',
      sealedCorrection: 'sealed-correction',
      scope: '{"topics":["bird-food"]}',
      gpc: true,
      tokenHash: 'token-hash',
      codeHash: 'code-hash',
      codeExpiresAt: at,
      codeAttempts: 4,
      subjects: '["sub_x"]',
      decisionReason: 'legal hold',
      dueAt: at,
      createdAt: at,
      updatedAt: at,
      closedAt: at,
    },
  },
  PrivacyRequestStep: { row: { requestId: 'prq_parity', seq: 2, step: 'verified', actorType: 'customer', actorId: 'prq_parity', detail: 'd', at } },
  NotifierMessage: {
    row: {
      id: 'msg_parity',
      requestId: 'prq_parity',
      channel: 'sms',
      sealed: 's',
      status: 'failed',
      attempts: 7,
      nextAttemptAt: at,
      expiresAt: at,
      lastError: 'HTTP 503',
      createdAt: at,
      deliveredAt: at,
    },
  },
  JobLease: { row: { name: 'parity', holder: 'replica', until: at } },
  RateLimit: { row: { key: 'parity-key', hits: 7, resetAt: at } },
  ConsentState: { row: { subjectId: 'sub_parity', purpose: 'marketing', state: '{"status":"active"}' } },
  DataUpgrade: { row: { name: 'parity-upgrade', doneAt: at } },
  // Recorded by the first start; updated here, never inserted twice.
  MasterKeyCheck: { row: { id: 1, fingerprint: 'f'.repeat(32), recordedAt: at }, via: 'update' },
  Replica: { row: { instanceId: 'r-1', policyVersion: 'v-1', startedAt: at, seenAt: at } },
  // Recorded by the first start, like the master key's fingerprint.
  AuditLogOrigin: { row: { id: 1, origin: 'parity.example/audit', recordedAt: at }, via: 'update' },
  RevokedSession: { row: { jti: 'jti-parity', officerId: 'off_parity', expiresAt: at, revokedAt: at } },
};

/** Each model's columns as prisma/schema.prisma declares them (relation fields, whose type is a model, are no columns). */
function declaredColumns(): Map<string, string[]> {
  const schema = schemaText();
  const modelNames = new Set([...schema.matchAll(/^model (\w+) \{/gm)].map((m) => m[1]!));
  const models = new Map<string, string[]>();
  for (const [, name, body] of schema.matchAll(/^model (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const columns = body!
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('//') && !line.startsWith('@@'))
      .map((line) => line.split(/\s+/))
      .filter(([, type]) => !modelNames.has(type!.replace(/[[\]?]/g, '')))
      .map(([column]) => column!);
    models.set(name!, columns);
  }
  return models;
}

type Delegate = { create(args: { data: Row }): Promise<unknown>; update(args: { where: Row; data: Row }): Promise<unknown>; findFirstOrThrow(args: { where: Row }): Promise<unknown> };
const delegate = (client: unknown, model: string) => (client as Record<string, Delegate>)[model[0]!.toLowerCase() + model.slice(1)]!;

describe(`schema parity on ${databaseKind}`, () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  it('has a row for every model Prisma knows, setting every column the schema declares', () => {
    const columns = declaredColumns();
    expect([...columns.keys()].sort()).toEqual(Object.values(Prisma.ModelName).sort());
    for (const [model, names] of columns) {
      const { row } = fixtures[model as Prisma.ModelName];
      expect({ model, columns: Object.keys(row).sort() }).toEqual({ model, columns: [...names].sort() });
      expect({
        model,
        nulls: Object.entries(row)
          .filter(([, v]) => v === null || v === undefined)
          .map(([k]) => k),
      }).toEqual({ model, nulls: [] });
    }
  });

  it('writes every column of every model and finds the row again by all of them', async () => {
    const db = gateway.runtime.db;
    await gateway.runtime.auditIntegrator.stop();
    await db.transaction(async (tx: Tx) => {
      for (const [model, { row, via = 'create' }] of Object.entries(fixtures)) {
        if (via === 'create') await delegate(tx, model).create({ data: row });
        if (via === 'update') await delegate(tx, model).update({ where: { id: row.id }, data: row });
      }
    });
    for (const [model, { row }] of Object.entries(fixtures)) {
      await expect(
        delegate(db.read, model)
          .findFirstOrThrow({ where: row })
          .then((found) => ({ model, found })),
      ).resolves.toEqual({ model, found: row });
    }
  });

  it('deletes every row of every subject-owned table with its subject, and refuses a row for a subject that does not exist', async () => {
    const db = gateway.runtime.db;
    const tables = subjectOwnedTables();
    expect(tables).toEqual(['consent_event', 'consent_state', 'contact_reservation', 'import_ref', 'subject_change', 'subject_field', 'subject_identifier', 'subject_ref']);
    expect(await rowsOf(gateway, tables, 'sub_parity')).toEqual(Object.fromEntries(tables.map((t) => [t, 1])));
    await db.transaction((tx) => tx.subject.delete({ where: { id: 'sub_parity' } }));
    expect(await rowsOf(gateway, tables, 'sub_parity')).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
    await expect(db.transaction((tx) => tx.consentState.create({ data: { subjectId: 'sub_nobody', purpose: 'marketing', state: '{}' } }))).rejects.toMatchObject({ status: 404 });
  });

  it('enforces the unique constraints the model declares', async () => {
    const db = gateway.runtime.db;
    const officer = { id: 'off_a', username: 'same-name', role: 'admin', passwordHash: 'h', createdAt: at, disabledAt: null };
    await db.transaction((tx) => tx.officer.create({ data: officer }));
    await expect(db.transaction((tx) => tx.officer.create({ data: { ...officer, id: 'off_b' } }))).rejects.toMatchObject({ status: 503 });
    expect(await db.read.officer.count({ where: { username: 'same-name' } })).toBe(1);
  });
});
