import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { Requests } from './requests.ts';
import type { RequestScope, RequestStatus, RequestType } from './schema.ts';
import type { StepRow } from './store.ts';

/**
 * Carries a verified request to its next state: applies GPC and an opt-out
 * and completes access and opt-out requests; correction and erasure wait
 * for an agent. Safe to run again (the sweep does, for a request a crash
 * left verified): each action is idempotent.
 */
export async function advance(r: Requests, ctx: RequestContext, id: string): Promise<void> {
  const { db, actions, store, customer, openFor } = r;
  const row = (await store.findRequest(db.read, id))!;
  if (row.status !== 'verified') return;
  const ctxOf = customer(ctx, id);
  const sealed = openFor(row);
  const subjects = JSON.parse(row.subjects ?? '[]') as string[];
  const steps: Array<Omit<StepRow, 'requestId' | 'seq'>> = [];
  if (row.gpc) {
    const withdrawn = await actions.applyGpc(ctxOf, subjects);
    steps.push({ step: 'gpc-applied', actorType: 'system', actorId: null, detail: `withdrew ${withdrawn} sale or sharing consent(s)`, at: new Date() });
  }
  const type = row.type as RequestType;
  let next: RequestStatus = 'pending-approval';
  if (type === 'opt-out') {
    const scope = row.scope ? (JSON.parse(row.scope) as RequestScope) : {};
    const applied = await actions.applyOptOut(ctxOf, subjects, { kind: row.identifierKind, value: sealed?.identifier }, scope);
    steps.push({
      step: 'applied',
      actorType: 'system',
      actorId: null,
      detail: `withdrew ${applied.withdrawn} consent(s)${applied.doNotCall ? '; number on the internal do-not-call list' : ''}`,
      at: new Date(),
    });
    next = 'completed';
  } else if (type === 'access') {
    steps.push({ step: 'export-ready', actorType: 'system', actorId: null, detail: subjects.length === 0 ? 'nothing is held under this identifier' : null, at: new Date() });
    next = 'completed';
  }
  await db.transaction(async (tx) => {
    const now = new Date();
    const closing = next === 'completed';
    // A closed request has no more use for the identifier (the export needs only the subjects it reached).
    if (!(await store.updateRequest(tx, id, 'verified', { status: next, updatedAt: now, closedAt: closing ? now : null, ...(closing ? { sealedIdentifier: null } : {}) }))) return;
    await store.appendSteps(tx, id, [...steps, { step: next, actorType: 'system', actorId: null, detail: null, at: now }]);
    if (type === 'opt-out')
      await appendAuditEvent(tx, ctxOf, {
        action: 'requests.optout.apply',
        decision: 'info',
        subject: subjects.length === 1 ? subjects[0] : undefined,
        reasons: [{ code: 'subjects', detail: String(subjects.length) }],
      });
    // Requests opened and closed are what compliance reports upward: every close is one event.
    if (closing) await appendAuditEvent(tx, ctxOf, { action: 'requests.request.complete', decision: 'info', reasons: [{ code: type }] });
  });
}
