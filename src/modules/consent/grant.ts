import { randomUUID } from 'node:crypto';
import { Forbidden, PolicyViolation } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { keptOf, type Consent, type ConsentCaller, type ConsentSignals } from './consent.ts';
import { signConsentReceipt } from './receipt.ts';
import type { ConsentGrantInput } from './schema.ts';
import { consentAt } from './state.ts';

export async function grant(c: Consent, ctx: RequestContext, caller: ConsentCaller, ref: string, purpose: string, input: ConsentGrantInput, signals: ConsentSignals) {
  const { policy, audit, deps, salePurposes, refuse, writes } = c;
  const action = 'consent.grant';
  const event = { action, purpose, reasons: [] as Array<{ code: string; detail?: string }> };
  const subjectId = await c.resolve(ctx, caller, ref, action, purpose);
  const problems = c.purposeProblems(caller, purpose, input);
  if (problems.forbidden) return refuse(ctx, { ...event, subject: subjectId, reasons: [{ code: 'purpose-not-granted' }] }, new Forbidden('this app is not granted the purpose it asks consent for'));
  const violations = [...problems.violations];
  const definition = problems.definition;
  if (definition && definition.basis !== 'consent') {
    violations.push({ field: 'purpose', reason: `the purpose's lawful basis is ${definition.basis}, not consent; it is not gated by consent, so there is nothing to grant` });
  }
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  const now = new Date();
  if (expiresAt && expiresAt.getTime() <= now.getTime()) violations.push({ field: 'expiresAt', reason: 'is in the past' });
  if (definition?.sale && signals.gpc) {
    violations.push({ field: 'purpose', reason: 'the request carries Sec-GPC: 1, which opts out of the sale or sharing of personal data; it cannot also consent to it' });
  }
  if (violations.length > 0) {
    return refuse(
      ctx,
      { ...event, subject: subjectId, reasons: violations.map((v) => ({ code: 'invalid-consent', detail: v.field })) },
      new PolicyViolation(violations.map((v) => `${v.field}: ${v.reason}`).join('; '), violations),
    );
  }

  const receiptId = randomUUID();
  const receipt = await signConsentReceipt(deps.signingKey, {
    receiptId,
    principal: ref,
    purpose,
    definition: definition!,
    fields: policy.fields,
    channels: input.channels ?? definition!.channels,
    topics: input.topics ?? definition!.topics,
    recipients: input.recipients ?? [],
    source: input.source,
    noticeVersion: input.noticeVersion,
    expiresAt,
    at: now,
    issuer: deps.issuer,
    policyUrl: deps.policyUrl,
    jurisdiction: policy.defaults.region,
  });
  const state = await audit.unlessErased(
    ctx,
    { action, subject: subjectId, purpose },
    writes.run(subjectId, async (tx) => {
      const kept = await c.keptStates(tx, subjectId, [purpose, ...(signals.gpc ? salePurposes : [])]);
      const at = new Date();
      const gpcPurposes = signals.gpc ? c.gpcWithdrawals(kept, at, purpose) : [];
      const common = { actorId: ctx.actor.id ?? null, requestId: ctx.requestId, at, gpc: signals.gpc };
      for (const p of gpcPurposes) {
        c.appendGpcWithdrawal(tx, subjectId, p, common);
      }
      c.append(tx, subjectId, {
        ...common,
        id: randomUUID(),
        purpose,
        kind: 'grant' as const,
        channels: input.channels ?? null,
        topics: input.topics ?? null,
        recipients: input.recipients ?? null,
        source: input.source,
        noticeVersion: input.noticeVersion,
        expiresAt,
        receiptId,
        receipt,
      });
      for (const p of gpcPurposes) await appendAuditEvent(tx, ctx, { action: 'consent.withdraw', decision: 'info', subject: subjectId, purpose: p, reasons: [{ code: 'gpc' }] });
      await appendAuditEvent(tx, ctx, {
        action,
        decision: 'allow',
        subject: subjectId,
        purpose,
        reasons: [
          { code: 'receipt', detail: receiptId },
          { code: 'notice', detail: input.noticeVersion },
        ],
      });
      return consentAt(keptOf(kept, purpose), at);
    }),
  );
  return { state, receipt };
}
