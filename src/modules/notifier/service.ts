import { open, seal } from '../../crypto/envelope.ts';
import type { Logger } from '../../logger.ts';
import { decodeKeysetCursor, encodeKeysetCursor } from '../../shared/keyset-cursor.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { uuidV7 } from '../../shared/uuid-v7.ts';
import type { Database, Tx } from '../../storage/database.ts';

import type { AuditGroupCommit } from '../audit/group-commit.ts';
import * as store from './store.ts';

/** One message to a person: where it goes and what it says. */
export interface Message {
  requestId: string;
  channel: 'sms' | 'email';
  to: string;
  subject: string;
  text: string;
  /** After this the message is useless (the code in it has expired): it is not delivered any more. */
  expiresAt: Date;
}

export interface OutboxMessage {
  id: string;
  requestId: string;
  channel: string;
  to: string;
  subject: string;
  text: string;
  status: store.MessageRow['status'];
  attempts: number;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  expiresAt: string;
}

export interface NotifierDeps {
  db: Database;
  audit: AuditGroupCommit;
  logger: Logger;
  sealingKey: Buffer;
  /** Unset: messages are held in the outbox for admins (and tests) to read. */
  webhookUrl: string | undefined;
  /** How long a message stays in the database at all. */
  keepMs?: number;
  pollMs?: number;
}

const LEASE_MS = 30_000;
const MESSAGE_ID = /^msg_[0-9a-f-]{36}$/;
const WEBHOOK_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_MS = 60_000;

/**
 * How Custos reaches a person (verification codes). Every message is first
 * written, encrypted, in the caller's transaction, so a request and its
 * message commit together. With a webhook, a dispatcher on every replica
 * delivers due messages (each claimed by one replica at a time) and retries
 * with backoff until the service answers 2xx or the message expires; without
 * one, messages are held in the outbox for admins to read.
 */
export function createNotifier(deps: NotifierDeps) {
  const { db, logger, sealingKey, webhookUrl } = deps;
  const keepMs = deps.keepMs ?? 24 * 3600 * 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const sealMessage = (id: string, m: Pick<Message, 'to' | 'subject' | 'text'>) => seal(sealingKey, Buffer.from(JSON.stringify({ to: m.to, subject: m.subject, text: m.text })), `notifier/${id}`);
  const openMessage = (row: store.MessageRow) => JSON.parse(open(sealingKey, row.sealed, `notifier/${row.id}`).toString('utf8')) as { to: string; subject: string; text: string };

  async function enqueue(tx: Tx, message: Message): Promise<string> {
    const now = new Date();
    const id = `msg_${uuidV7(now.getTime())}`;
    await store.insertMessage(tx, {
      id,
      requestId: message.requestId,
      channel: message.channel,
      sealed: sealMessage(id, message),
      status: webhookUrl ? 'pending' : 'held',
      attempts: 0,
      nextAttemptAt: now,
      expiresAt: message.expiresAt,
      lastError: null,
      createdAt: now,
      deliveredAt: null,
    });
    if (webhookUrl) tx.unit.afterCommit(() => wake());
    return id;
  }

  async function outbox(ctx: RequestContext, options: { requestId?: string; cursor?: string; limit: number }): Promise<{ messages: OutboxMessage[]; next: string | null }> {
    const rows = await store.listMessages(db.read, { requestId: options.requestId, before: options.cursor ? decodeKeysetCursor(options.cursor, MESSAGE_ID) : undefined }, options.limit);
    const messages = rows.map((row) => ({
      id: row.id,
      requestId: row.requestId,
      channel: row.channel,
      ...openMessage(row),
      status: row.status,
      attempts: row.attempts,
      lastError: row.lastError,
      createdAt: row.createdAt.toISOString(),
      deliveredAt: row.deliveredAt?.toISOString() ?? null,
      expiresAt: row.expiresAt.toISOString(),
    }));
    await deps.audit.record(ctx, { action: 'notifier.outbox.read', decision: 'allow', reasons: [{ code: 'messages', detail: String(messages.length) }] });
    const last = rows.at(-1);
    return { messages, next: last && rows.length === options.limit ? encodeKeysetCursor(last.createdAt, last.id) : null };
  }

  async function deliver(row: store.MessageRow): Promise<void> {
    const now = new Date();
    if (!(await db.transaction((tx) => store.claim(tx, row, new Date(now.getTime() + LEASE_MS))))) return;
    const attempts = row.attempts + 1;
    const m = openMessage(row);
    let problem: string | undefined;
    try {
      const response = await fetch(webhookUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': row.id },
        body: JSON.stringify({ id: row.id, requestId: row.requestId, channel: row.channel, to: m.to, subject: m.subject, text: m.text, expiresAt: row.expiresAt.toISOString() }),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) problem = `HTTP ${response.status}`;
    } catch (error) {
      problem = error instanceof Error ? error.name : 'error';
    }
    if (problem === undefined) {
      await db.transaction((tx) => store.markDelivered(tx, row.id, attempts, new Date()));
      return;
    }
    const nextAttemptAt = new Date(Date.now() + Math.min(MAX_BACKOFF_MS, 500 * 2 ** (attempts - 1)));
    const failed = nextAttemptAt >= row.expiresAt;
    // The message id only: the address and the text are personal data.
    logger.warn(failed ? 'message could not be delivered before it expired' : 'message delivery failed; will retry', { message: row.id, attempts, problem });
    await db.transaction((tx) => store.markAttemptFailed(tx, row.id, { attempts, nextAttemptAt, lastError: problem, failed }));
  }

  async function cycle(): Promise<void> {
    if (!webhookUrl) return;
    for (const row of await store.dueMessages(db.read, new Date(), 50)) await deliver(row);
  }

  function wake(): void {
    if (stopped || running) return;
    running = cycle()
      .catch((error: unknown) => {
        logger.warn('notifier cycle failed; will retry', { error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => {
        running = undefined;
      });
  }

  return {
    enqueue,
    outbox,
    /** Delivers what is due now (tests, and shutdown). */
    async flush(): Promise<void> {
      await running;
      await cycle();
    },
    /** Messages carry codes and addresses: none is kept longer than a day (the maintenance sweep calls this). */
    purge: () => db.transaction((tx) => store.deleteOlderThan(tx, new Date(Date.now() - keepMs))),
    /** With a webhook, polls for due messages (retries), besides being woken by each new one. */
    start(): void {
      stopped = false;
      if (!webhookUrl) return;
      timer = setInterval(wake, deps.pollMs ?? 1000);
      timer.unref();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
