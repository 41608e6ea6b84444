import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import type { AuditEventInput } from './schema.ts';
import { appendAuditEntries } from './service.ts';

interface Waiting {
  ctx: RequestContext;
  input: AuditEventInput;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for events that record an access which changes nothing (a read,
 * a refusal): the caller awaits `record` and answers only once its event is
 * committed, so no data leaves without its audit event, and an audit failure
 * still fails the request (503). Events arriving while one transaction commits
 * go into the next, so under load one transaction carries many events instead
 * of each request queueing for the write lock on its own.
 * Writes keep appending inside their own transaction (appendAuditEvent).
 */
export function createAuditGroupCommit(db: Database) {
  let queue: Waiting[] = [];
  let running = false;

  async function drain(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        // SQLite commits block the event loop (a synchronous fsync), so requests that arrived
        // meanwhile are only read once we yield: let them queue before taking the batch.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = queue.slice(0, MAX_BATCH);
        queue = queue.slice(batch.length);
        try {
          await db.transaction((tx) => appendAuditEntries(tx, batch));
          for (const w of batch) w.resolve();
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    record(ctx: RequestContext, input: AuditEventInput): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ ctx, input, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}

const MAX_BATCH = 500;

export type AuditGroupCommit = ReturnType<typeof createAuditGroupCommit>;
