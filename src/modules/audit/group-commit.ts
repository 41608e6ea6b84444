import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { createBatches } from '../../storage/grouped-transactions.ts';
import type { AuditEventInput } from './schema.ts';
import { appendAuditEntriesAlone, type Entry } from './service.ts';

/** Events in one statement at most: 500 events × 12 columns stays far below both engines' parameter limit. */
const MAX_GROUP = 500;

/**
 * Group commit for events that record an access which changes nothing (a read,
 * a refusal): the caller awaits `record` and answers only once its event is
 * committed, so no data leaves without its audit event, and an audit failure
 * still fails the request (503). Events arriving while one group is written go
 * into the next, as one multi-row INSERT that is atomic on its own (on
 * PostgreSQL one round trip, with no transaction around it). Writes keep
 * appending inside their own transaction (appendAuditEvent).
 */
export function createAuditGroupCommit(db: Database) {
  const batches = createBatches<Entry, undefined>(MAX_GROUP, async (entries) => {
    await appendAuditEntriesAlone(db, entries);
    return entries.map(() => undefined);
  });
  return {
    record(ctx: RequestContext, input: AuditEventInput): Promise<void> {
      return batches.run({ ctx, input });
    },
    /** Refusals are accesses too: the refusal is audited (committed) before the error goes out. Every module refuses this way. */
    async refuse(ctx: RequestContext, event: Omit<AuditEventInput, 'decision'>, error: Error): Promise<never> {
      await batches.run({ ctx, input: { ...event, decision: 'deny' } });
      throw error;
    },
  };
}

export type AuditGroupCommit = ReturnType<typeof createAuditGroupCommit>;
