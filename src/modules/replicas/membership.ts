import { randomUUID } from 'node:crypto';
import { ConfigError } from '../../config.ts';
import type { Database } from '../../storage/database.ts';
import { addReplica, liveReplicas, lockReplicas, removeReplica, renewReplica } from './store.ts';

/** How often a serving replica says it is alive, and after how long without a word it counts as gone. */
const RENEW_EVERY_MS = 10_000;
export const GONE_AFTER_MS = 30_000;

/**
 * Every replica serving one database must decide by the same policy: with two
 * versions live, the same request would be allowed by one replica and refused
 * by the next, and the trail would not say which rules applied. A replica
 * joins only if every live replica serves its policy version; otherwise it
 * refuses to start, naming both versions. A policy change is rolled out by
 * stopping the replicas of the old version (or waiting GONE_AFTER_MS after a
 * crash) before starting those of the new one; a single process restarted
 * with new policy files simply starts, since it left when it stopped.
 */
export async function joinReplicas(db: Database, policyVersion: string) {
  const instanceId = randomUUID();
  await db.transaction(async (tx) => {
    await lockReplicas(tx);
    const now = new Date();
    const others = (await liveReplicas(tx, new Date(now.getTime() - GONE_AFTER_MS))).filter((r) => r.policyVersion !== policyVersion);
    if (others.length > 0) {
      const versions = [...new Set(others.map((r) => r.policyVersion))].join(', ');
      const lastSeen = Math.max(...others.map((r) => r.seenAt.getTime()));
      throw new ConfigError([
        {
          variable: 'POLICY_DIR',
          message:
            `holds policy version ${policyVersion}, but ${others.length} replica(s) serving this database run policy version ${versions} (last seen ${Math.max(0, Math.round((now.getTime() - lastSeen) / 1000))} s ago); ` +
            `every replica must serve the same policy: stop the others before starting this version (a replica that stopped without leaving is forgotten ${GONE_AFTER_MS / 1000} s after it was last seen)`,
        },
      ]);
    }
    await addReplica(tx, { instanceId, policyVersion, at: now });
  });

  const renew = () => db.transaction((tx) => renewReplica(tx, { instanceId, policyVersion, at: new Date() }));
  // A renewal that fails (the database is out of reach) is retried at the next tick; requests fail with 503 meanwhile anyway.
  const timer = setInterval(() => void renew().catch(() => undefined), RENEW_EVERY_MS);
  timer.unref();
  return {
    instanceId,
    renew,
    async leave(): Promise<void> {
      clearInterval(timer);
      await db.transaction((tx) => removeReplica(tx, instanceId));
    },
  };
}

/**
 * The policy versions the live replicas of this database serve (none when no
 * server runs on it): what a CLI command compares its own with, so that one
 * run with other policy files than the servers says so before it acts.
 */
export async function servedPolicyVersions(db: Database, now = new Date()): Promise<string[]> {
  const rows = await db.readRaw<{ policyVersion: string }>('SELECT DISTINCT policy_version AS "policyVersion" FROM replica WHERE seen_at >= ?', [new Date(now.getTime() - GONE_AFTER_MS)]);
  return rows.map((r) => r.policyVersion).sort();
}
