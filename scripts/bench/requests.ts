import { performance } from 'node:perf_hooks';
import { appendAuditEvents } from '../../src/modules/audit/service.ts';
import type { AuditEventInput } from '../../src/modules/audit/schema.ts';
import type { Runtime } from '../../src/runtime.ts';

/**
 * The time to build one person's access export when the audit trail holds
 * `events` events about them (appended through the real path and placed in
 * the log first), after the request was submitted and verified as a customer would.
 */
export async function accessExportFigure(runtime: Runtime, appId: string, email: string, events: number): Promise<{ accessLog: number; milliseconds: number }> {
  const ctx = { actor: { type: 'system' as const, id: 'bench' }, requestId: 'bench-export', policyVersion: runtime.loaded.version };
  const [subject] = await runtime.subjects.subjectsWithIdentifier('email', email);
  if (!subject) throw new Error(`no seeded subject holds ${email}`);
  const appCtx = { ...ctx, actor: { type: 'app' as const, id: appId } };
  for (let done = 0; done < events; done += 5000) {
    const batch: AuditEventInput[] = Array.from({ length: Math.min(5000, events - done) }, (_, i) =>
      i % 2 === 0 ? { action: 'subjects.subject.read', decision: 'allow', subject, purpose: 'support', fields: ['name'], reasons: [{ code: 'not-consent-based' }] } : { action: 'contacts.authorize', decision: 'allow', subject, purpose: 'marketing', reasons: [] },
    );
    await runtime.db.transaction((tx) => appendAuditEvents(tx, appCtx, batch));
  }
  await runtime.auditIntegrator.flush();
  const submitted = await runtime.requests.submit(ctx, { type: 'access', identifier: { email } }, { gpc: false });
  const { messages } = await runtime.notifier.outbox(ctx, { requestId: submitted.id, limit: 1 });
  const code = /(\d{6})/.exec(messages[0]!.text)![1]!;
  await runtime.requests.verify(ctx, submitted.id, code, submitted.statusToken);
  const started = performance.now();
  const exported = await runtime.requests.exportFor(ctx, submitted.id, submitted.statusToken);
  return { accessLog: exported.accessLog.length, milliseconds: Math.round(performance.now() - started) };
}
