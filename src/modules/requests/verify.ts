import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { advance } from './advance.ts';
import { RequestStateConflict, WrongCode } from './errors.ts';
import { effectiveStatus, requestFor, type Requests } from './requests.ts';
import type { RequestStatus, RequestView } from './schema.ts';
import { CODE_MAX_ATTEMPTS, codeHash, sameHash } from './secrets.ts';
import type { RequestRow } from './store.ts';
import { view } from './view.ts';

/** Closes a request whose code ran out; false when another step moved it first. */
export async function expire(r: Requests, ctx: RequestContext, row: RequestRow): Promise<void> {
  const { db, store, customer } = r;
  await db.transaction(async (tx) => {
    const now = new Date();
    if (!(await store.updateRequest(tx, row.id, 'pending-verification', { status: 'expired', codeHash: null, sealedIdentifier: null, updatedAt: now, closedAt: now }))) return;
    await store.appendSteps(tx, row.id, [{ step: 'expired', actorType: 'system', actorId: null, detail: 'the code was not entered in time', at: now }]);
    await appendAuditEvent(tx, customer(ctx, row.id), { action: 'requests.request.expire', decision: 'info' });
  });
}

export async function verify(r: Requests, ctx: RequestContext, id: string, code: string, token: string | undefined): Promise<RequestView> {
  const { db, audit, actions, store, customer, openFor, deps } = r;
  const row = await requestFor(r, id, token);
  const ctxOf = customer(ctx, id);
  const now = new Date();
  if (effectiveStatus(row, now) === 'expired' && row.status === 'pending-verification') {
    await expire(r, ctx, row);
    throw new RequestStateConflict('the code has expired; submit a new request to get a new one', 'expired');
  }
  if (row.status !== 'pending-verification') {
    return audit.refuse(
      ctxOf,
      { action: 'requests.request.verify', reasons: [{ code: `status-${row.status}` }] },
      new RequestStateConflict(
        row.status === 'locked' ? 'too many wrong codes; this request is locked. Submit a new request.' : `this request is ${row.status}; its code has been used`,
        row.status as RequestStatus,
      ),
    );
  }
  if (!row.codeHash || !sameHash(row.codeHash, codeHash(deps.secretKey, id, code))) {
    const attempts = row.codeAttempts + 1;
    const locked = attempts >= CODE_MAX_ATTEMPTS;
    const moved = await db.transaction(async (tx) => {
      const data = locked ? { codeAttempts: attempts, status: 'locked', codeHash: null, sealedIdentifier: null, updatedAt: now, closedAt: now } : { codeAttempts: attempts, updatedAt: now };
      if (!(await store.updateRequest(tx, id, { status: 'pending-verification', codeAttempts: row.codeAttempts }, data))) return false;
      await store.appendSteps(tx, id, [{ step: locked ? 'locked' : 'code-failed', actorType: 'customer', actorId: null, detail: `attempt ${attempts} of ${CODE_MAX_ATTEMPTS}`, at: now }]);
      await appendAuditEvent(tx, ctxOf, { action: 'requests.request.verify', decision: 'deny', reasons: [{ code: 'wrong-code', detail: String(attempts) }] });
      if (locked) await appendAuditEvent(tx, ctxOf, { action: 'requests.request.lock', decision: 'info', reasons: [{ code: 'too-many-attempts' }] });
      return true;
    });
    // Another attempt counted at the same moment: answer from the state it left.
    if (!moved) return verify(r, ctx, id, code, token);
    if (locked) throw new RequestStateConflict('too many wrong codes; this request is locked. Submit a new request.', 'locked');
    throw new WrongCode(CODE_MAX_ATTEMPTS - attempts);
  }

  const sealed = openFor(row)!;
  const subjects = await actions.subjectsOf(row.identifierKind, sealed.identifier);
  const verified = await db.transaction(async (tx) => {
    if (!(await store.updateRequest(tx, id, 'pending-verification', { status: 'verified', codeHash: null, subjects: JSON.stringify(subjects), updatedAt: now }))) return false;
    await store.appendSteps(tx, id, [{ step: 'verified', actorType: 'customer', actorId: null, detail: null, at: now }]);
    await appendAuditEvent(tx, ctxOf, {
      action: 'requests.request.verify',
      decision: 'allow',
      subject: subjects.length === 1 ? subjects[0] : undefined,
      reasons: [{ code: 'subjects', detail: String(subjects.length) }],
    });
    return true;
  });
  if (!verified) throw new RequestStateConflict('this request was verified already; its code has been used', 'verified');
  await advance(r, ctx, id);
  return view(r, ctx, id, { audited: false });
}
