import { SubjectGone } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { createBatches } from '../../storage/grouped-transactions.ts';
import type { SqlStatement, TableRows } from '../../storage/raw-sql.ts';
import type { AuditEventInput } from './schema.ts';
import { appendAuditEntriesAlone, appendAuditEntryIf, type Entry } from './service.ts';

/** Events in one write at most: 500 events × 12 columns, and as many rows alongside, stay far below both engines' parameter limit. */
const MAX_GROUP = 500;

/**
 * Group commit for events of accesses that need no transaction: a read, a
 * refusal, or a write whose rows need nothing read under a lock (`alongside`:
 * a contact's reservation when no cap counts slots). The caller awaits
 * `record` and answers only once its event (and its rows) are committed, so no
 * data leaves without its audit event, and an audit failure still fails the
 * request (503). Entries arriving while one group is written go into the next,
 * as one atomic write (on PostgreSQL one statement, with no transaction
 * around it). Writes that read under a lock append inside their own
 * transaction (appendAuditEvent).
 */
export function createAuditGroupCommit(db: Database) {
  const batches = createBatches<Entry, undefined>(MAX_GROUP, async (entries) => {
    await appendAuditEntriesAlone(db, entries);
    return entries.map(() => undefined);
  });
  /** Refusals are accesses too: the refusal is audited (committed) before the error goes out. Every module refuses this way. */
  async function refuse(ctx: RequestContext, event: Omit<AuditEventInput, 'decision'>, error: Error): Promise<never> {
    await batches.run({ ctx, input: { ...event, decision: 'deny' } });
    throw error;
  }
  return {
    /**
     * An access and what it writes (`alongside`: rows of the module that
     * decided it), committed with its event before the caller answers. With
     * `guards` (the values the decision was made on, re-checked as it is
     * written: Database.writeAlone) it is written alone, not with the group,
     * and answers false, with nothing written, when a guard no longer holds.
     * Without, it shares the group's write and answers true. The caller does
     * not choose how it is written, only what must still hold.
     */
    async record(ctx: RequestContext, input: AuditEventInput, alongside?: TableRows, guards: readonly SqlStatement[] = []): Promise<boolean> {
      if (guards.length > 0) return appendAuditEntryIf(db, guards, { ctx, input, alongside });
      await batches.run({ ctx, input, alongside });
      return true;
    },
    refuse,
    /**
     * A write that lost a race with the erasure of its subject (SubjectGone:
     * nothing was written) is refused as an unknown ref is, and audited as
     * one; any other outcome passes through.
     */
    async unlessErased<T>(ctx: RequestContext, event: Omit<AuditEventInput, 'decision' | 'reasons'>, write: Promise<T>): Promise<T> {
      try {
        return await write;
      } catch (error) {
        if (!(error instanceof SubjectGone)) throw error;
        return refuse(ctx, { ...event, reasons: [{ code: 'unknown-ref' }] }, error);
      }
    },
  };
}

export type AuditGroupCommit = ReturnType<typeof createAuditGroupCommit>;
