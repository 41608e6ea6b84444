import type { Tx } from '../../storage/database.ts';
import { lockTable } from '../../storage/locks.ts';
import { execute, query } from '../../storage/raw-sql.ts';
import { instant, type SqlInstant } from '../../storage/sql-values.ts';

export interface ReplicaRow {
  instanceId: string;
  policyVersion: string;
  seenAt: Date;
}

/** Starts are taken one at a time, so two replicas with different policies cannot both join. */
export async function lockReplicas(tx: Tx): Promise<void> {
  await lockTable(tx, 'replica', 'EXCLUSIVE');
}

/** Forgets replicas not seen since `before` (stopped without leaving, or cut off), and lists the rest. */
export async function liveReplicas(tx: Tx, before: Date): Promise<ReplicaRow[]> {
  await execute(tx, 'DELETE FROM replica WHERE seen_at < ?', [before]);
  const rows = await query<{ instanceId: string; policyVersion: string; seenAt: SqlInstant }>(
    tx,
    'SELECT instance_id AS "instanceId", policy_version AS "policyVersion", seen_at AS "seenAt" FROM replica ORDER BY seen_at',
  );
  return rows.map((r) => ({ ...r, seenAt: instant(r.seenAt) }));
}

export async function addReplica(tx: Tx, row: { instanceId: string; policyVersion: string; at: Date }): Promise<void> {
  await execute(tx, 'INSERT INTO replica (instance_id, policy_version, started_at, seen_at) VALUES (?, ?, ?, ?)', [row.instanceId, row.policyVersion, row.at, row.at]);
}

/** Renews the replica's row; puts it back if it was forgotten while the database was out of reach. */
export async function renewReplica(tx: Tx, row: { instanceId: string; policyVersion: string; at: Date }): Promise<void> {
  if ((await execute(tx, 'UPDATE replica SET seen_at = ? WHERE instance_id = ?', [row.at, row.instanceId])) === 0) await addReplica(tx, row);
}

export async function removeReplica(tx: Tx, instanceId: string): Promise<void> {
  await execute(tx, 'DELETE FROM replica WHERE instance_id = ?', [instanceId]);
}
