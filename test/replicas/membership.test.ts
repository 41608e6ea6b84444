import { GONE_AFTER_MS, joinReplicas } from '../../src/modules/replicas/membership.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * The replica list on its own (the processes test starts real replicas):
 * who counts as live, and what a refused replica leaves behind (nothing).
 */
describe(`replica membership on ${databaseKind}`, () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.close());

  const replicas = () => gateway.runtime.db.read.replica.findMany({ orderBy: { startedAt: 'asc' } });

  it('lets replicas of one policy version join and leave; refuses another version while one of them is live', async () => {
    const db = gateway.runtime.db;
    const first = await joinReplicas(db, 'version-a');
    const second = await joinReplicas(db, 'version-a');
    expect((await replicas()).map((r) => r.instanceId).sort()).toEqual([first.instanceId, second.instanceId].sort());

    await expect(joinReplicas(db, 'version-b')).rejects.toThrow(
      /POLICY_DIR: holds policy version version-b, but 2 replica\(s\) serving this database run policy version version-a \(last seen 0 s ago\)/,
    );
    expect(await replicas()).toHaveLength(2);

    await first.leave();
    await expect(joinReplicas(db, 'version-b')).rejects.toThrow(/but 1 replica\(s\)/);
    await second.leave();
    const next = await joinReplicas(db, 'version-b');
    expect((await replicas()).map((r) => r.policyVersion)).toEqual(['version-b']);
    await next.leave();
  });

  it('forgets a replica that stopped without leaving once it has not been seen for the grace period, and renews the live ones', async () => {
    const db = gateway.runtime.db;
    const crashed = await joinReplicas(db, 'version-a');
    // The crashed replica's last word was longer ago than the grace period.
    await db.read.replica.update({ where: { instanceId: crashed.instanceId }, data: { seenAt: new Date(Date.now() - GONE_AFTER_MS - 1000) } });
    const next = await joinReplicas(db, 'version-b');
    expect((await replicas()).map((r) => r.instanceId)).toEqual([next.instanceId]);

    const before = (await replicas())[0]!.seenAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await next.renew();
    expect((await replicas())[0]!.seenAt.getTime()).toBeGreaterThan(before.getTime());
    // Renewing after being forgotten (the database was out of reach for long) puts the replica back.
    await db.read.replica.deleteMany({});
    await next.renew();
    expect((await replicas()).map((r) => r.instanceId)).toEqual([next.instanceId]);
    await next.leave();
  });
});
