import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { releaseLease, takeLease } from '../../storage/job-lease.ts';
import { deleteEndedWindows } from '../../storage/rate-limit-store.ts';
import type { RetentionReport } from './retention.ts';

const LEASE = 'requests-maintenance';

/**
 * The periodic sweep of a serving process: closes expired requests, carries
 * on requests a crash left half-done, and enforces retention. With several
 * replicas, one runs it at a time (a lease in the database).
 */
export function createMaintenance(deps: {
  db: Database;
  logger: Logger;
  intervalMs: number;
  policyVersion: string;
  sweepRequests: (ctx: RequestContext) => Promise<{ expired: number; advanced: number }>;
  purgeMessages: () => Promise<number>;
  retention: (ctx: RequestContext) => Promise<RetentionReport>;
}) {
  const holder = `replica:${randomUUID()}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function runOnce(): Promise<boolean> {
    // The lease outlives one sweep, so a slow sweep is not run twice at once.
    if (!(await takeLease(deps.db, LEASE, holder, Math.max(deps.intervalMs, 60_000) * 2))) return false;
    const ctx: RequestContext = { actor: { type: 'system', id: 'maintenance' }, requestId: `sweep-${randomUUID()}`, policyVersion: deps.policyVersion };
    try {
      const requests = await deps.sweepRequests(ctx);
      await deps.purgeMessages();
      await deleteEndedWindows(deps.db, new Date());
      const retention = await deps.retention(ctx);
      if (requests.expired + requests.advanced + retention.subjects > 0)
        deps.logger.info('maintenance sweep', { expiredRequests: requests.expired, resumedRequests: requests.advanced, erasedByRetention: retention.subjects, byPurpose: retention.byPurpose });
    } finally {
      await releaseLease(deps.db, LEASE, holder);
    }
    return true;
  }

  return {
    runOnce,
    start(): void {
      if (deps.intervalMs <= 0) return;
      timer = setInterval(() => {
        if (running) return;
        running = runOnce()
          .then(() => undefined)
          .catch((error: unknown) => {
            deps.logger.warn('maintenance sweep failed; will retry', { error: error instanceof Error ? error.message : String(error) });
          })
          .finally(() => {
            running = undefined;
          });
      }, deps.intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

export type Maintenance = ReturnType<typeof createMaintenance>;
