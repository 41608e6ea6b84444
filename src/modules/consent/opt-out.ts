import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { keptOf, type Consent } from './consent.ts';
import { consentAt } from './state.ts';

/**
 * A customer's own opt-out (a verified privacy request, or GPC on one):
 * withdraws each named purpose that is in force, narrowed as given, in one
 * transaction under the subject's ledger lock, each audited. Answers the
 * purposes whose consent changed.
 */
export async function withdrawForSubject(
  c: Consent,
  ctx: RequestContext,
  subjectId: string,
  withdrawals: Array<{ purpose: string; channels?: string[]; topics?: string[] }>,
  source: string,
): Promise<string[]> {
  const { policy, writes } = c;
  return writes.run(subjectId, async (tx) => {
    const kept = await c.keptStates(
      tx,
      subjectId,
      withdrawals.map((w) => w.purpose),
    );
    const at = new Date();
    const changed: string[] = [];
    for (const w of withdrawals) {
      if (policy.purposes[w.purpose]?.basis !== 'consent' || consentAt(keptOf(kept, w.purpose), at).status !== 'active') continue;
      c.append(tx, subjectId, {
        id: randomUUID(),
        purpose: w.purpose,
        kind: 'withdraw' as const,
        channels: w.channels ?? null,
        topics: w.topics ?? null,
        recipients: null,
        source,
        noticeVersion: null,
        expiresAt: null,
        receiptId: null,
        actorId: ctx.actor.id ?? null,
        requestId: ctx.requestId,
        at,
        gpc: source === 'gpc',
      });
      changed.push(w.purpose);
      const scope = [...(w.channels ?? []).map((c) => ({ code: 'channel', detail: c })), ...(w.topics ?? []).map((t) => ({ code: 'topic', detail: t }))];
      await appendAuditEvent(tx, ctx, { action: 'consent.withdraw', decision: 'allow', subject: subjectId, purpose: w.purpose, reasons: [{ code: source }, ...scope] });
    }
    return changed;
  });
}
