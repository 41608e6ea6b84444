import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { RequestStateConflict } from './errors.ts';
import { requestFor, type Requests } from './requests.ts';
import type { RequestStatus, RequestView } from './schema.ts';
import type { StepRow } from './store.ts';
import { toView } from './view.ts';

/**
 * An agent's decision. The request moves first, under a guard (only from
 * pending-approval), with the decision's step and event: of two agents
 * deciding at once exactly one moves it, and only then is the winner's
 * effect applied (applyApproved), so the data always matches the decision
 * that stands, also after a crash in between.
 */
export async function decide(r: Requests, ctx: RequestContext, id: string, input: { decision: 'approve' | 'reject'; reason: string }): Promise<RequestView> {
  const { db, audit, store } = r;
  const row = await requestFor(r, id, undefined);
  if (row.status !== 'pending-approval') {
    return audit.refuse(
      ctx,
      { action: `requests.request.${input.decision}`, reasons: [{ code: `status-${row.status}` }] },
      new RequestStateConflict(`this request is ${row.status}; only a request pending approval can be decided`, row.status as RequestStatus),
    );
  }
  const subjects = JSON.parse(row.subjects ?? '[]') as string[];
  const approve = input.decision === 'approve';
  const moved = await db.transaction(async (tx) => {
    const now = new Date();
    const data = approve
      ? { status: 'approved', decisionReason: input.reason, updatedAt: now }
      : { status: 'rejected', decisionReason: input.reason, sealedIdentifier: null, updatedAt: now, closedAt: now };
    if (!(await store.updateRequest(tx, id, 'pending-approval', data))) return false;
    await store.appendSteps(tx, id, [{ step: approve ? 'approved' : 'rejected', actorType: ctx.actor.type, actorId: ctx.actor.id ?? null, detail: input.reason, at: now }]);
    // The reason is the agent's own words, shown to the person; the trail keeps the decision only.
    await appendAuditEvent(tx, ctx, { action: `requests.request.${input.decision}`, decision: 'allow', subject: subjects.length === 1 ? subjects[0] : undefined, reasons: [{ code: row.type }] });
    return true;
  });
  if (!moved) {
    const now = (await store.findRequest(db.read, id))!.status as RequestStatus;
    return audit.refuse(ctx, { action: `requests.request.${input.decision}`, reasons: [{ code: `status-${now}` }] }, new RequestStateConflict('another agent decided this request first', now));
  }
  if (approve) await applyApproved(r, ctx, id);
  return toView(r, (await store.findRequest(db.read, id))!);
}

/**
 * The effect of an approved correction or erasure, then completion. Safe to
 * run again (the sweep does, for a request a crash left approved): an
 * erased subject is gone already and a correction applied twice changes
 * nothing the second time; only one run completes the request.
 */
export async function applyApproved(r: Requests, ctx: RequestContext, id: string): Promise<void> {
  const { db, actions, store, openFor } = r;
  const row = await store.findRequest(db.read, id);
  if (row?.status !== 'approved') return;
  const subjects = JSON.parse(row.subjects ?? '[]') as string[];
  let effect: Omit<StepRow, 'requestId' | 'seq'>;
  if (row.type === 'correction') {
    const changed = await actions.applyCorrection(ctx, subjects, openFor(row)?.correction ?? {});
    effect = { step: 'corrected', actorType: 'system', actorId: null, detail: changed.length > 0 ? `changed ${changed.join(', ')}` : 'nothing to change', at: new Date() };
  } else {
    const erased = await actions.erase(ctx, subjects, 'request');
    effect = { step: 'erased', actorType: 'system', actorId: null, detail: `${erased} record(s) erased`, at: new Date() };
  }
  await db.transaction(async (tx) => {
    const now = new Date();
    if (!(await store.updateRequest(tx, id, 'approved', { status: 'completed', sealedIdentifier: null, updatedAt: now, closedAt: now }))) return;
    await store.appendSteps(tx, id, [effect, { step: 'completed', actorType: 'system', actorId: null, detail: null, at: now }]);
    await appendAuditEvent(tx, ctx, { action: 'requests.request.complete', decision: 'info', reasons: [{ code: row.type }] });
  });
}
