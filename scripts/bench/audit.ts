import type { Runtime } from '../../src/runtime.ts';
import { appendAuditEvents } from '../../src/modules/audit/service.ts';
import type { AuditEventInput } from '../../src/modules/audit/schema.ts';

const DENY_REASONS = ['frequency-cap', 'quiet-hours', 'do-not-call', 'no-consent', 'topic-opted-out'];

/**
 * Seeds the audit trail through the real append path: events inserted by
 * writer transactions (5,000 a transaction, as a busy group commit would),
 * then placed in the log by the integrator. Returns events/s for each step.
 */
export async function seedAuditTrail(runtime: Runtime, count: number, appId: string, subjects: string[]): Promise<{ appendPerSecond: number; integratePerSecond: number }> {
  const ctx = { actor: { type: 'app' as const, id: appId }, requestId: 'bench-audit', policyVersion: runtime.loaded.version };
  const started = Date.now();
  for (let done = 0; done < count;) {
    const batch: AuditEventInput[] = [];
    for (let i = 0; i < 5000 && done < count; i++, done++) {
      const subject = subjects[done % subjects.length];
      const deny = done % 5 === 0;
      batch.push(
        done % 2 === 0
          ? { action: 'contacts.authorize', decision: deny ? 'deny' : 'allow', subject, purpose: 'marketing', reasons: deny ? [{ code: DENY_REASONS[done % DENY_REASONS.length]! }] : [] }
          : { action: 'subjects.subject.read', decision: 'allow', subject, purpose: 'support', fields: ['name', 'memberCard'], reasons: [{ code: 'not-consent-based' }] },
      );
    }
    await runtime.db.transaction((tx) => appendAuditEvents(tx, ctx, batch));
  }
  const appended = Date.now();
  await runtime.auditIntegrator.flush();
  const integrated = Date.now();
  return { appendPerSecond: Math.round(count / ((appended - started) / 1000)), integratePerSecond: Math.round(count / ((integrated - appended) / 1000)) };
}
