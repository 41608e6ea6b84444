import type { DbClient, Tx } from '../../storage/database.ts';
import { insertRows } from '../../storage/raw-sql.ts';

export interface MessageRow {
  id: string;
  requestId: string;
  channel: string;
  sealed: string;
  status: 'held' | 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  expiresAt: Date;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

const asRow = (r: Omit<MessageRow, 'status'> & { status: string }): MessageRow => ({ ...r, status: r.status as MessageRow['status'] });

export async function insertMessage(tx: Tx, r: MessageRow): Promise<void> {
  await insertRows(
    tx,
    'notifier_message',
    ['id', 'request_id', 'channel', 'sealed', 'status', 'attempts', 'next_attempt_at', 'expires_at', 'last_error', 'created_at', 'delivered_at'],
    [[r.id, r.requestId, r.channel, r.sealed, r.status, r.attempts, r.nextAttemptAt, r.expiresAt, r.lastError, r.createdAt, r.deliveredAt]],
  );
}

/** Newest first; `before` is the creation time and id of the last message of the previous page. */
export async function listMessages(db: DbClient, filter: { requestId?: string; before?: { at: Date; id: string } }, limit: number): Promise<MessageRow[]> {
  const rows = await db.notifierMessage.findMany({
    where: {
      ...(filter.requestId ? { requestId: filter.requestId } : {}),
      ...(filter.before ? { OR: [{ createdAt: { lt: filter.before.at } }, { createdAt: filter.before.at, id: { lt: filter.before.id } }] } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
  });
  return rows.map(asRow);
}

export async function dueMessages(db: DbClient, now: Date, limit: number): Promise<MessageRow[]> {
  const rows = await db.notifierMessage.findMany({ where: { status: 'pending', nextAttemptAt: { lte: now } }, orderBy: { nextAttemptAt: 'asc' }, take: limit });
  return rows.map(asRow);
}

/**
 * Takes a message for one delivery attempt: pushes its next attempt past the
 * lease, only if no other replica did so first. False when another took it.
 */
export async function claim(db: Tx, message: MessageRow, until: Date): Promise<boolean> {
  const { count } = await db.notifierMessage.updateMany({ where: { id: message.id, status: 'pending', nextAttemptAt: message.nextAttemptAt }, data: { nextAttemptAt: until } });
  return count === 1;
}

export async function markDelivered(db: Tx, id: string, attempts: number, at: Date): Promise<void> {
  await db.notifierMessage.updateMany({ where: { id, status: 'pending' }, data: { status: 'delivered', attempts, deliveredAt: at, lastError: null } });
}

export async function markAttemptFailed(db: Tx, id: string, update: { attempts: number; nextAttemptAt: Date; lastError: string; failed: boolean }): Promise<void> {
  await db.notifierMessage.updateMany({
    where: { id, status: 'pending' },
    data: { attempts: update.attempts, nextAttemptAt: update.nextAttemptAt, lastError: update.lastError, ...(update.failed ? { status: 'failed' } : {}) },
  });
}

/** Messages carry codes and addresses: none is kept longer than it can be useful to anyone. */
export async function deleteOlderThan(db: Tx, cutoff: Date): Promise<number> {
  return (await db.notifierMessage.deleteMany({ where: { createdAt: { lt: cutoff } } })).count;
}
