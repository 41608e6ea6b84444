import { randomUUID } from 'node:crypto';
import { Forbidden, PolicyViolation } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { keptOf, type Consent, type ConsentCaller, type ConsentSignals } from './consent.ts';
import type { ConsentWithdrawInput } from './schema.ts';
import { consentAt } from './state.ts';

export async function withdraw(c: Consent, ctx: RequestContext, caller: ConsentCaller, ref: string, purpose: string, input: ConsentWithdrawInput, signals: ConsentSignals) {
  const { audit, salePurposes, refuse, writes } = c;
  const action = 'consent.withdraw';
  const subjectId = await c.resolve(ctx, caller, ref, action, purpose);
  const problems = c.purposeProblems(caller, purpose, input);
  if (problems.forbidden) return refuse(ctx, { action, purpose, subject: subjectId, reasons: [{ code: 'purpose-not-granted' }] }, new Forbidden('this app is not granted this purpose'));
  if (problems.violations.length > 0) {
    return refuse(
      ctx,
      { action, purpose, subject: subjectId, reasons: problems.violations.map((v) => ({ code: 'invalid-withdrawal', detail: v.field })) },
      new PolicyViolation(problems.violations.map((v) => `${v.field}: ${v.reason}`).join('; '), problems.violations),
    );
  }
  const state = await audit.unlessErased(
    ctx,
    { action, subject: subjectId, purpose },
    writes.run(subjectId, async (tx) => {
      const kept = await c.keptStates(tx, subjectId, [purpose, ...(signals.gpc ? salePurposes : [])]);
      const at = new Date();
      const before = consentAt(keptOf(kept, purpose), at);
      const common = { actorId: ctx.actor.id ?? null, requestId: ctx.requestId, at, gpc: signals.gpc };
      // Withdrawing what is not in force is answered with the state, audited, and leaves the ledger as it is.
      if (before.status === 'active') {
        c.append(tx, subjectId, {
          ...common,
          id: randomUUID(),
          purpose,
          kind: 'withdraw' as const,
          channels: input.channels ?? null,
          topics: input.topics ?? null,
          recipients: input.recipients ?? null,
          source: input.source,
          noticeVersion: null,
          expiresAt: null,
          receiptId: null,
        });
      }
      for (const p of signals.gpc ? c.gpcWithdrawals(kept, at, purpose) : []) {
        c.appendGpcWithdrawal(tx, subjectId, p, common);
        await appendAuditEvent(tx, ctx, { action, decision: 'info', subject: subjectId, purpose: p, reasons: [{ code: 'gpc' }] });
      }
      const scope = [
        ...(input.channels ?? []).map((c) => ({ code: 'channel', detail: c })),
        ...(input.topics ?? []).map((t) => ({ code: 'topic', detail: t })),
        // Recipient names are caller text; the trail keeps how many, not which.
        ...(input.recipients ? [{ code: 'recipients', detail: String(input.recipients.length) }] : []),
      ];
      await appendAuditEvent(tx, ctx, { action, decision: 'allow', subject: subjectId, purpose, reasons: before.status === 'active' ? scope : [{ code: 'nothing-in-force' }] });
      return consentAt(keptOf(kept, purpose), at);
    }),
  );
  return { state };
}
