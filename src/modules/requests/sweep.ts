import type { RequestContext } from '../../shared/request-context.ts';
import { advance } from './advance.ts';
import { applyApproved } from './decide.ts';
import type { Requests } from './requests.ts';
import { expire } from './verify.ts';

/**
 * Housekeeping on one replica at a time: closes requests whose code ran
 * out, and carries on requests a crash left verified but not applied.
 */
export async function sweep(r: Requests, ctx: RequestContext): Promise<{ expired: number; advanced: number }> {
  const { db, store } = r;
  const now = new Date();
  let expired = 0;
  for (const row of await store.expiredUnverified(db.read, now, 500)) {
    await expire(r, ctx, row);
    expired += 1;
  }
  const stuck = await store.stuckVerified(db.read, new Date(now.getTime() - 60_000), 100);
  for (const id of stuck) await advance(r, ctx, id);
  const approved = await store.stuckApproved(db.read, new Date(now.getTime() - 60_000), 100);
  for (const id of approved) await applyApproved(r, ctx, id);
  return { expired, advanced: stuck.length + approved.length };
}
