import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { createTransactionGroups } from '../../storage/grouped-transactions.ts';
import type { AuditEventInput } from './schema.ts';
import { appendAuditEntries } from './service.ts';

/**
 * Group commit for events that record an access which changes nothing (a read,
 * a refusal): the caller awaits `record` and answers only once its event is
 * committed, so no data leaves without its audit event, and an audit failure
 * still fails the request (503). Events arriving while one transaction commits
 * go into the next (grouped transactions; the events of a transaction are
 * written as one chain segment), so under load one transaction carries many
 * events instead of each request queueing for the write lock on its own.
 * Writes keep appending inside their own transaction (appendAuditEvent).
 */
export function createAuditGroupCommit(db: Database) {
  const groups = createTransactionGroups(db, { maxGroup: 500 });
  return {
    record(ctx: RequestContext, input: AuditEventInput): Promise<void> {
      return groups.run(undefined, (tx) => appendAuditEntries(tx, [{ ctx, input }]));
    },
    /** Refusals are accesses too: the refusal is audited (committed) before the error goes out. Every module refuses this way. */
    async refuse(ctx: RequestContext, event: Omit<AuditEventInput, 'decision'>, error: Error): Promise<never> {
      await groups.run(undefined, (tx) => appendAuditEntries(tx, [{ ctx, input: { ...event, decision: 'deny' } }]));
      throw error;
    },
  };
}

export type AuditGroupCommit = ReturnType<typeof createAuditGroupCommit>;
