import { startTestGateway, databaseKind, type TestGateway } from '../support/gateway.ts';

/**
 * The migration SQL (per engine) and prisma/schema.prisma are written by hand
 * and must agree. Writing and reading back every column of every model through
 * the generated client proves it on the engine this run uses; CI runs it on both.
 */
describe(`schema parity on ${databaseKind}`, () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  const at = new Date('2026-03-04T05:06:07.089Z');

  it('round-trips every column of every model', async () => {
    const db = gateway.runtime.db;
    const app = { id: 'app_parity', name: 'Parity', secretHash: '$argon2id$x', purposes: '["support"]', reveal: '["call"]', createdAt: at, removedAt: at };
    const officer = { id: 'off_parity', username: 'parity', role: 'admin', passwordHash: '$argon2id$y', createdAt: at, disabledAt: at };
    const event = {
      no: 9_007_199_254_740_993n, // beyond Number.MAX_SAFE_INTEGER: BIGINT must stay exact
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
    };
    const leaf = { leafIndex: 9_007_199_254_740_993n, eventNo: 9_007_199_254_740_993n, leafHash: 'a'.repeat(64), chainHash: 'b'.repeat(64) };
    const node = { level: 8, idx: 9_007_199_254_740_993n, hash: 'd'.repeat(64) };
    const head = { treeSize: 9_007_199_254_740_993n, rootHash: 'e'.repeat(64), signedAt: at, signature: 'jws' };
    const stat = { hour: '2026-03-04T05', action: 'test.parity', decision: 'deny', reason: 'frequency-cap', count: 9_007_199_254_740_993n };
    const privacyRequest = {
      id: 'prq_parity',
      type: 'erasure',
      status: 'pending-approval',
      identifierKind: 'phone',
      identifierDigest: 'digest',
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
    };
    const step = { requestId: 'prq_parity', seq: 2, step: 'verified', actorType: 'customer', actorId: 'prq_parity', detail: 'd', at };
    const message = { id: 'msg_parity', requestId: 'prq_parity', channel: 'sms', sealed: 's', status: 'failed', attempts: 7, nextAttemptAt: at, expiresAt: at, lastError: 'HTTP 503', createdAt: at, deliveredAt: at };
    const lease = { name: 'parity', holder: 'replica', until: at };
    const limit = { key: 'parity-key', hits: 7, resetAt: at };
    const upgrade = { name: 'parity-upgrade', doneAt: at };
    const consentState = { subjectId: 'sub_x', purpose: 'marketing', state: '{"status":"active"}' };
    const consentEvent = { id: 'ce_parity', subjectId: 'sub_x', seq: 1, purpose: 'marketing', kind: 'grant', channels: '["sms"]', topics: null, recipients: null, source: 's', noticeVersion: 'n', expiresAt: at, gpc: false, receiptId: 'r', receipt: 'jws', actorId: 'a', requestId: 'q', at };
    await gateway.runtime.auditIntegrator.stop();
    await db.transaction(async (tx) => {
      await tx.app.create({ data: app });
      await tx.officer.create({ data: officer });
      await tx.auditEvent.create({ data: event });
      await tx.auditLeaf.create({ data: leaf });
      await tx.auditTreeNode.create({ data: node });
      await tx.auditTreeHead.create({ data: head });
      await tx.auditStatHour.create({ data: stat });
      await tx.privacyRequest.create({ data: privacyRequest });
      await tx.privacyRequestStep.create({ data: step });
      await tx.notifierMessage.create({ data: message });
      await tx.jobLease.create({ data: lease });
      await tx.rateLimit.create({ data: limit });
      await tx.dataUpgrade.create({ data: upgrade });
      await tx.consentState.create({ data: consentState });
      await tx.consentEvent.create({ data: consentEvent });
    });
    expect(await db.read.privacyRequest.findUniqueOrThrow({ where: { id: privacyRequest.id } })).toEqual(privacyRequest);
    expect(await db.read.privacyRequestStep.findFirstOrThrow({ where: { requestId: 'prq_parity' } })).toEqual(step);
    expect(await db.read.notifierMessage.findUniqueOrThrow({ where: { id: message.id } })).toEqual(message);
    expect(await db.read.jobLease.findUniqueOrThrow({ where: { name: 'parity' } })).toEqual(lease);
    expect(await db.read.rateLimit.findUniqueOrThrow({ where: { key: 'parity-key' } })).toEqual(limit);
    expect(await db.read.dataUpgrade.findUniqueOrThrow({ where: { name: 'parity-upgrade' } })).toEqual(upgrade);
    expect(await db.read.consentState.findFirstOrThrow({ where: { subjectId: 'sub_x' } })).toEqual(consentState);
    expect(await db.read.consentEvent.findUniqueOrThrow({ where: { id: consentEvent.id } })).toEqual(consentEvent);
    expect(await db.read.app.findUniqueOrThrow({ where: { id: app.id } })).toEqual(app);
    expect(await db.read.officer.findUniqueOrThrow({ where: { id: officer.id } })).toEqual(officer);
    expect(await db.read.auditEvent.findUniqueOrThrow({ where: { id: event.id } })).toEqual(event);
    // The insert trigger queued the event for the integrator.
    expect(await db.read.auditPending.findUniqueOrThrow({ where: { no: event.no } })).toEqual({ no: event.no });
    expect(await db.read.auditLeaf.findUniqueOrThrow({ where: { leafIndex: leaf.leafIndex } })).toEqual(leaf);
    expect(await db.read.auditTreeNode.findFirstOrThrow({ where: { level: 8 } })).toEqual(node);
    expect(await db.read.auditTreeHead.findUniqueOrThrow({ where: { treeSize: head.treeSize } })).toEqual(head);
    expect(await db.read.auditStatHour.findFirstOrThrow({ where: { action: 'test.parity' } })).toEqual(stat);
    expect(await db.read.auditTreeState.findUniqueOrThrow({ where: { id: 1 } })).toMatchObject({ id: 1, chainHash: '0'.repeat(64) });
  });

  it('enforces the unique constraints the model declares', async () => {
    const db = gateway.runtime.db;
    const officer = { id: 'off_a', username: 'same-name', role: 'admin', passwordHash: 'h', createdAt: at, disabledAt: null };
    await db.transaction((tx) => tx.officer.create({ data: officer }));
    await expect(db.transaction((tx) => tx.officer.create({ data: { ...officer, id: 'off_b' } }))).rejects.toMatchObject({ status: 503 });
    expect(await db.read.officer.count({ where: { username: 'same-name' } })).toBe(1);
  });
});
