import fs from 'node:fs';
import path from 'node:path';
import { chainHash, leafContentOf, leafHashOf } from '../../src/modules/audit/leaf.ts';
import { Frontier } from '../../src/modules/audit/merkle/frontier.ts';
import { appendAuditEvents } from '../../src/modules/audit/service.ts';
import { createTestApp, startTestGateway, systemContext, verifyLog, type TestGateway } from '../support/gateway.ts';
import { runCustos } from '../support/processes.ts';
import { runTestSql } from '../support/sql.ts';

/**
 * Someone with write access to the database (but not the master key) edits
 * the trail behind Custos's back. `custos audit verify` must name the first
 * event or head that no longer matches.
 */
describe('audit verify against tampering', () => {
  let gateway: TestGateway;
  beforeEach(async () => {
    gateway = await startTestGateway({ AUDIT_TREE_HEAD_INTERVAL_MS: '0', AUDIT_LOG_ORIGIN: 'custos.test/audit' });
    await gateway.runtime.db.transaction((tx) =>
      appendAuditEvents(
        tx,
        systemContext(gateway),
        Array.from({ length: 300 }, (_, i) => ({ action: 'dnc.check', decision: 'info' as const, reasons: [{ code: `n${i}` }] })),
      ),
    );
    await gateway.runtime.auditIntegrator.flush();
    // Later events, each batch followed by a signed head.
    for (let i = 0; i < 3; i++) await createTestApp(gateway, ['support']);
    await gateway.runtime.auditIntegrator.flush();
    expect(await verifyLog(gateway)).toMatchObject({ ok: true, treeSize: 303 });
    // Stop placing events, so that the test alone writes from here on.
    await gateway.runtime.auditIntegrator.stop();
    await runTestSql(gateway, 'allowTampering');
  });
  afterEach(() => gateway.close());

  const db = () => gateway.runtime.db;
  const edit = (work: Parameters<TestGateway['runtime']['db']['transaction']>[0]) => db().transaction(work);

  const eventAt = async (leafIndex: bigint) => db().read.auditEvent.findUniqueOrThrow({ where: { no: (await db().read.auditLeaf.findUniqueOrThrow({ where: { leafIndex } })).eventNo } });

  it('names an edited event', async () => {
    const event = await eventAt(42n);
    await edit((tx) => tx.auditEvent.update({ where: { no: event.no }, data: { purpose: 'marketing' } }));
    expect(await verifyLog(gateway)).toMatchObject({ ok: false, firstBad: { leafIndex: 42, problem: 'content does not match its leaf hash (edited)' } });
  });

  it('names a deleted event, and a deleted leaf', async () => {
    const event = await eventAt(7n);
    await edit((tx) => tx.auditEvent.delete({ where: { no: event.no } }));
    expect(await verifyLog(gateway)).toMatchObject({ ok: false, firstBad: { leafIndex: 7, problem: 'event 7 is missing (deleted)' } });
    await edit((tx) => tx.auditLeaf.delete({ where: { leafIndex: 7n } }));
    expect(await verifyLog(gateway)).toMatchObject({ ok: false, firstBad: { leafIndex: 7, problem: 'event 7 is missing (deleted or moved)' } });
  });

  it('notices two events swapped', async () => {
    const [a, b] = await Promise.all([10n, 11n].map((i) => db().read.auditLeaf.findUniqueOrThrow({ where: { leafIndex: i } })));
    await edit(async (tx) => {
      await tx.auditLeaf.update({ where: { leafIndex: 10n }, data: { eventNo: -1n } });
      await tx.auditLeaf.update({ where: { leafIndex: 11n }, data: { eventNo: a!.eventNo } });
      await tx.auditLeaf.update({ where: { leafIndex: 10n }, data: { eventNo: b!.eventNo } });
    });
    expect(await verifyLog(gateway)).toMatchObject({ ok: false, firstBad: { leafIndex: 10, problem: 'content does not match its leaf hash (edited)' } });
  });

  it('notices an event inserted in the middle', async () => {
    const template = await eventAt(20n);
    await edit(async (tx) => {
      const later = await tx.auditLeaf.findMany({ where: { leafIndex: { gte: 20n } }, orderBy: { leafIndex: 'desc' } });
      for (const leaf of later) await tx.auditLeaf.update({ where: { leafIndex: leaf.leafIndex }, data: { leafIndex: leaf.leafIndex + 1n } });
      const forged = await tx.auditEvent.create({ data: { ...template, no: 999_999n, id: 'evt_forged' } });
      await tx.auditPending.deleteMany({ where: { no: forged.no } });
      await tx.auditLeaf.create({ data: { leafIndex: 20n, eventNo: forged.no, leafHash: '0'.repeat(64), chainHash: '0'.repeat(64) } });
    });
    expect(await verifyLog(gateway)).toMatchObject({ ok: false, firstBad: { leafIndex: 20, id: 'evt_forged' } });
  });

  it('notices an event taken off the queue so that it is never placed', async () => {
    const hidden = await edit(async (tx) => {
      const event = await tx.auditEvent.create({ data: { ...(await eventAt(3n)), no: 888_888n, id: 'evt_hidden' } });
      await tx.auditPending.deleteMany({ where: { no: event.no } });
      return event;
    });
    expect(await verifyLog(gateway)).toMatchObject({ ok: false, firstBad: { id: (hidden as { id: string }).id } });
  });

  /** The attacker's own tool: edit one event, then recompute every hash, stored node and the integrator's state. */
  async function rewriteLog(options: { dropHeads: boolean }) {
    await edit(async (tx) => {
      await tx.auditEvent.update({ where: { no: (await tx.auditLeaf.findUniqueOrThrow({ where: { leafIndex: 5n } })).eventNo }, data: { decision: 'deny' } });
      const leaves = await tx.auditLeaf.findMany({ orderBy: { leafIndex: 'asc' } });
      const frontier = Frontier.empty();
      let chain = '0'.repeat(64);
      const nodes: Array<{ level: number; idx: bigint; hash: string }> = [];
      for (const leafRow of leaves) {
        const row = await tx.auditEvent.findUniqueOrThrow({ where: { no: leafRow.eventNo } });
        const leaf = leafHashOf(leafContentOf(row, Number(leafRow.leafIndex)));
        chain = chainHash(chain, leaf);
        await tx.auditLeaf.update({ where: { leafIndex: leafRow.leafIndex }, data: { leafHash: leaf, chainHash: chain } });
        frontier.append(Buffer.from(leaf, 'hex'), (n, h) => n.level % 8 === 0 && nodes.push({ level: n.level, idx: BigInt(n.index), hash: h.toString('hex') }));
      }
      await tx.auditTreeNode.deleteMany({});
      await tx.auditTreeNode.createMany({ data: nodes });
      await tx.auditTreeState.update({ where: { id: 1 }, data: { chainHash: chain, frontier: JSON.stringify(frontier.toJSON()) } });
      if (options.dropHeads) await tx.auditTreeHead.deleteMany({});
    });
  }

  it('catches a rewritten log by its signed tree heads', async () => {
    await rewriteLog({ dropHeads: false });
    const result = await verifyLog(gateway);
    expect(result).toMatchObject({ ok: false, firstBad: { treeSize: 300 } });
    expect(result.firstBad!.problem).toMatch(/do not hash to the root of the tree head/);

    // Custos itself refuses to sign a head over the rewritten tree.
    const headsBefore = await db().read.auditTreeHead.count();
    await createTestApp(gateway, ['support']);
    await gateway.runtime.auditIntegrator.flush();
    expect(await db().read.auditTreeHead.count()).toBe(headsBefore);
    expect(gateway.logs.some((l) => l.includes('no longer matches its last signed head'))).toBe(true);
  });

  it('catches a forged tree head', async () => {
    const heads = await db().read.auditTreeHead.findMany({ orderBy: { treeSize: 'asc' } });
    await edit((tx) => tx.auditTreeHead.update({ where: { treeSize: heads.at(-1)!.treeSize }, data: { signature: heads[0]!.signature } }));
    expect((await verifyLog(gateway)).firstBad!.problem).toMatch(/signature does not verify/);
  });

  it('catches a rewritten log whose heads were removed too, with a checkpoint kept outside Custos (CLI)', async () => {
    const checkpoint = await gateway.runtime.auditLog.checkpoint();
    const file = path.join(gateway.env.CUSTOS_DATA_DIR!, 'kept-checkpoint.txt');
    fs.writeFileSync(file, checkpoint);
    const before = await runCustos(['audit', 'verify', '--checkpoint', file, '--json'], { env: gateway.env });
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ ok: true, checkpoint: { treeSize: 303, consistent: true } });

    await rewriteLog({ dropHeads: true });
    expect((await verifyLog(gateway)).ok).toBe(true); // nothing inside the database contradicts the rewrite
    const after = await runCustos(['audit', 'verify', '--checkpoint', file], { env: gateway.env });
    expect(after.code).toBe(1);
    expect(after.stdout).toContain('AUDIT LOG BROKEN at tree size 303: the log is not consistent with the checkpoint');

    const forged = checkpoint.replace(/ (\S+)\n$/, (_, sig: string) => ` ${Buffer.from(Buffer.from(sig, 'base64').map((b, i) => (i === 10 ? b ^ 1 : b))).toString('base64')}\n`);
    fs.writeFileSync(file, forged);
    const badSignature = await runCustos(['audit', 'verify', '--checkpoint', file], { env: gateway.env });
    expect(badSignature.code).toBe(2);
    expect(badSignature.stderr).toContain('does not verify');
    // A checkpoint of another log (its origin line names another): unusable here, whatever its signature.
    fs.writeFileSync(file, checkpoint.replace(/^[^\n]+\n/, 'other.example/log\n'));
    const otherLog = await runCustos(['audit', 'verify', '--checkpoint', file], { env: gateway.env });
    expect(otherLog.code).toBe(2);
    expect(otherLog.stderr).toContain('is for log "other.example/log", not this log ("custos.test/audit")');
  });
});
