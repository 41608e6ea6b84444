// Over 300 lines on purpose: one request's life cycle (submit, verify, advance, decide, expire,
// view, export) is one state machine over one row, easier to check in one place; the rules a
// submission must meet are in submission-rules.ts, what a request does to data in apply.ts.
import { open, seal } from '../../crypto/envelope.ts';
import { NotFound, TooManyRequests } from '../../shared/errors.ts';
import { decodeKeysetCursor, encodeKeysetCursor } from '../../shared/keyset-cursor.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { createTransactionGroups } from '../../storage/grouped-transactions.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { addDuration, parseDuration } from '../policies/duration.ts';
import type { Policy } from '../policies/schema.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import type { Notifier } from '../notifier/service.ts';
import type { AttributeValue } from '../subjects/schema.ts';
import type { RequestActions } from './apply.ts';
import { codeMessage } from './messages.ts';
import { CLOSED_STATUSES, type QueueQuery, type RequestScope, type RequestStatus, type RequestType, type RequestView, type Submission } from './schema.ts';
import { CODE_LIFETIME_MS, CODE_MAX_ATTEMPTS, codeHash, newCode, newRequestId, newStatusToken, REQUEST_ID, sameHash, STATUS_TOKEN, tokenHash } from './secrets.ts';
import * as store from './store.ts';
import { RequestStateConflict, WrongCode } from './errors.ts';
import { DELIVERY, requestOptions, validateSubmission } from './submission-rules.ts';

export interface RequestsDeps {
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  pseudonyms: IdentifierPseudonyms;
  notifier: Notifier;
  actions: RequestActions;
  sealingKey: Buffer;
  secretKey: Buffer;
  settings: { perIdentifierPerHour: number };
}

const HOUR_MS = 3600 * 1000;
const notFound = () => new NotFound('no privacy request with this id for this status token');

interface Sealed {
  identifier: string;
  correction?: Record<string, AttributeValue>;
}

/**
 * Customer privacy requests. Submission never looks at subjects, so its
 * answer, its writes and its timing are the same whether or not Custos holds
 * the identifier; only a verified request reaches data, and only the data
 * held under the identifier that was verified.
 */
export function createRequestService(deps: RequestsDeps) {
  const { db, policy, audit, pseudonyms, notifier, actions } = deps;
  const deadline = parseDuration(policy.requests.deadline)!;
  const submissions = createTransactionGroups(db, { maxGroup: 200 });
  const customer = (ctx: RequestContext, requestId: string): RequestContext => ({ ...ctx, actor: { type: 'customer', id: requestId } });
  const sealFor = (id: string, value: Sealed) => seal(deps.sealingKey, Buffer.from(JSON.stringify(value)), `privacy-request/${id}`);
  const openFor = (row: store.RequestRow): Sealed | undefined =>
    row.sealedIdentifier ? (JSON.parse(open(deps.sealingKey, row.sealedIdentifier, `privacy-request/${row.id}`).toString('utf8')) as Sealed) : undefined;

  function effectiveStatus(row: store.RequestRow, now: Date): RequestStatus {
    if (row.status === 'pending-verification' && row.codeExpiresAt && row.codeExpiresAt <= now) return 'expired';
    return row.status as RequestStatus;
  }

  async function submit(ctx: RequestContext, input: Submission, signals: { gpc: boolean }): Promise<{ id: string; status: RequestStatus; statusToken: string; dueAt: string }> {
    const { kind, normalized, correction } = validateSubmission(policy, pseudonyms, input);
    const digest = (await pseudonyms.currentDigest(kind, normalized)).digest;
    const id = newRequestId();
    const ctxOf = customer(ctx, id);
    const now = new Date();
    const token = newStatusToken();
    const code = newCode();
    const codeExpiresAt = new Date(now.getTime() + CODE_LIFETIME_MS);
    const dueAt = addDuration(now, deadline);
    // Submissions share transactions (one commit for many): each counts the identifier's recent
    // requests inside it, so two in one group see each other.
    const limited = await submissions.run(undefined, async (tx) => {
      const recent = await store.countRecentForIdentifier(tx, digest, new Date(now.getTime() - HOUR_MS));
      if (recent.count >= deps.settings.perIdentifierPerHour) return { retryAfterMs: recent.oldest!.getTime() + HOUR_MS - now.getTime() };
      await store.insertRequest(tx, {
        id,
        type: input.type,
        status: 'pending-verification',
        identifierKind: kind,
        identifierDigest: digest,
        sealedIdentifier: sealFor(id, { identifier: normalized, correction }),
        sealedCorrection: null,
        scope: input.scope ? JSON.stringify(input.scope) : null,
        gpc: signals.gpc,
        tokenHash: tokenHash(deps.secretKey, token),
        codeHash: codeHash(deps.secretKey, id, code),
        codeExpiresAt,
        codeAttempts: 0,
        subjects: null,
        decisionReason: null,
        dueAt,
        createdAt: now,
        updatedAt: now,
        closedAt: null,
      });
      const channel = DELIVERY[kind]!;
      await notifier.enqueue(tx, { requestId: id, channel, to: normalized, ...codeMessage(input.locale ?? 'en', code, CODE_LIFETIME_MS / 60_000), expiresAt: codeExpiresAt });
      await store.appendSteps(
        tx,
        id,
        [
          { step: 'submitted', actorType: 'customer', actorId: null, detail: signals.gpc ? 'with Sec-GPC: 1' : null, at: now },
          { step: 'code-sent', actorType: 'system', actorId: null, detail: channel, at: now },
        ],
        1,
      );
      await appendAuditEvent(tx, ctxOf, {
        action: 'requests.request.submit',
        decision: 'info',
        reasons: [{ code: input.type }, { code: 'identifier', detail: `${kind}:${digest}` }, ...(signals.gpc ? [{ code: 'gpc' }] : [])],
      });
      await appendAuditEvent(tx, ctxOf, { action: 'requests.code.send', decision: 'info', reasons: [{ code: channel }] });
      return undefined;
    });
    if (limited) {
      return audit.refuse(
        ctxOf,
        { action: 'requests.request.submit', reasons: [{ code: 'rate-limited' }, { code: 'identifier', detail: `${kind}:${digest}` }] },
        new TooManyRequests('too many requests for this identifier in the last hour; wait before asking again', limited.retryAfterMs / 1000),
      );
    }
    return { id, status: 'pending-verification', statusToken: token, dueAt: dueAt.toISOString() };
  }

  /** The request a status token opens; another request's token and an unknown id answer the same 404. */
  async function requestFor(id: string, token: string | undefined): Promise<store.RequestRow> {
    if (!REQUEST_ID.test(id)) throw notFound();
    const row = await store.findRequest(db.read, id);
    if (!row) throw notFound();
    if (token !== undefined && !(STATUS_TOKEN.test(token) && sameHash(row.tokenHash, tokenHash(deps.secretKey, token)))) throw notFound();
    return row;
  }

  /** Closes a request whose code ran out; false when another step moved it first. */
  async function expire(ctx: RequestContext, row: store.RequestRow): Promise<void> {
    await db.transaction(async (tx) => {
      const now = new Date();
      if (!(await store.updateRequest(tx, row.id, 'pending-verification', { status: 'expired', codeHash: null, sealedIdentifier: null, updatedAt: now, closedAt: now }))) return;
      await store.appendSteps(tx, row.id, [{ step: 'expired', actorType: 'system', actorId: null, detail: 'the code was not entered in time', at: now }]);
      await appendAuditEvent(tx, customer(ctx, row.id), { action: 'requests.request.expire', decision: 'info' });
    });
  }

  async function verify(ctx: RequestContext, id: string, code: string, token: string | undefined): Promise<RequestView> {
    const row = await requestFor(id, token);
    const ctxOf = customer(ctx, id);
    const now = new Date();
    if (effectiveStatus(row, now) === 'expired' && row.status === 'pending-verification') {
      await expire(ctx, row);
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
      if (!moved) return verify(ctx, id, code, token);
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
    await advance(ctx, id);
    return view(ctx, id, { audited: false });
  }

  /**
   * Carries a verified request to its next state: applies GPC and an opt-out
   * and completes access and opt-out requests; correction and erasure wait
   * for an agent. Safe to run again (the sweep does, for a request a crash
   * left verified): each action is idempotent.
   */
  async function advance(ctx: RequestContext, id: string): Promise<void> {
    const row = (await store.findRequest(db.read, id))!;
    if (row.status !== 'verified') return;
    const ctxOf = customer(ctx, id);
    const sealed = openFor(row);
    const subjects = JSON.parse(row.subjects ?? '[]') as string[];
    const steps: Array<Omit<store.StepRow, 'requestId' | 'seq'>> = [];
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

  async function toView(row: store.RequestRow): Promise<RequestView> {
    const now = new Date();
    const status = effectiveStatus(row, now);
    const sealed = row.status === 'pending-approval' ? openFor(row) : undefined;
    return {
      id: row.id,
      type: row.type as RequestType,
      status,
      identifierKind: row.identifierKind,
      scope: row.scope ? (JSON.parse(row.scope) as RequestScope) : null,
      correctionFields: Object.keys(sealed?.correction ?? {}),
      gpc: row.gpc,
      dueAt: row.dueAt.toISOString(),
      overdue: !CLOSED_STATUSES.includes(status) && row.dueAt <= now,
      createdAt: row.createdAt.toISOString(),
      closedAt: row.closedAt?.toISOString() ?? null,
      decisionReason: row.decisionReason,
      steps: (await store.stepsOf(db.read, row.id)).map((s) => ({ step: s.step, at: s.at.toISOString(), actor: s.actorType, detail: s.detail })),
    };
  }

  async function view(ctx: RequestContext, id: string, options: { token?: string; audited: boolean }): Promise<RequestView> {
    const row = await requestFor(id, options.token);
    const result = await toView(row);
    if (options.audited) await audit.record(ctx.actor.type === 'officer' ? ctx : customer(ctx, id), { action: 'requests.request.read', decision: 'allow', reasons: [{ code: result.status }] });
    return result;
  }

  /**
   * An agent's decision. The request moves first, under a guard (only from
   * pending-approval), with the decision's step and event: of two agents
   * deciding at once exactly one moves it, and only then is the winner's
   * effect applied (applyApproved), so the data always matches the decision
   * that stands, also after a crash in between.
   */
  async function decide(ctx: RequestContext, id: string, input: { decision: 'approve' | 'reject'; reason: string }): Promise<RequestView> {
    const row = await requestFor(id, undefined);
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
    if (approve) await applyApproved(ctx, id);
    return toView((await store.findRequest(db.read, id))!);
  }

  /**
   * The effect of an approved correction or erasure, then completion. Safe to
   * run again (the sweep does, for a request a crash left approved): an
   * erased subject is gone already and a correction applied twice changes
   * nothing the second time; only one run completes the request.
   */
  async function applyApproved(ctx: RequestContext, id: string): Promise<void> {
    const row = await store.findRequest(db.read, id);
    if (row?.status !== 'approved') return;
    const subjects = JSON.parse(row.subjects ?? '[]') as string[];
    let effect: Omit<store.StepRow, 'requestId' | 'seq'>;
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

  async function queue(ctx: RequestContext, query: QueueQuery): Promise<{ requests: RequestView[]; next: string | null }> {
    const limit = query.limit ?? 50;
    const now = new Date();
    const openStatuses = ['pending-verification', 'verified', 'pending-approval', 'approved'];
    const rows = await store.queuePage(
      db.read,
      { status: query.status, type: query.type, overdueAt: query.overdue === 'true' ? now : undefined, openStatuses, after: query.cursor ? decodeKeysetCursor(query.cursor, REQUEST_ID) : undefined },
      limit,
    );
    const requests = await Promise.all(rows.map(toView));
    await audit.record(ctx, { action: 'requests.queue.list', decision: 'allow', reasons: [{ code: 'requests', detail: String(requests.length) }] });
    const last = rows.at(-1);
    return { requests, next: last && rows.length === limit ? encodeKeysetCursor(last.dueAt, last.id) : null };
  }

  async function exportFor(ctx: RequestContext, id: string, token: string) {
    const row = await requestFor(id, token);
    if (row.type !== 'access' || row.status !== 'completed') {
      throw new RequestStateConflict(
        row.type !== 'access' ? 'only an access request has an export' : `the export is ready once the request is verified; it is ${effectiveStatus(row, new Date())}`,
        effectiveStatus(row, new Date()),
      );
    }
    const subjects = JSON.parse(row.subjects ?? '[]') as string[];
    const ctxOf = customer(ctx, id);
    const body = await actions.buildExport(subjects, { kind: row.identifierKind });
    await audit.record(ctxOf, {
      action: 'requests.export.read',
      decision: 'allow',
      subject: subjects.length === 1 ? subjects[0] : undefined,
      fields: body.fields.map((f) => f.field),
      reasons: [{ code: 'subjects', detail: String(subjects.length) }],
    });
    return { requestId: id, generatedAt: new Date().toISOString(), ...body };
  }

  /**
   * Housekeeping on one replica at a time: closes requests whose code ran
   * out, and carries on requests a crash left verified but not applied.
   */
  async function sweep(ctx: RequestContext): Promise<{ expired: number; advanced: number }> {
    const now = new Date();
    let expired = 0;
    for (const row of await store.expiredUnverified(db.read, now, 500)) {
      await expire(ctx, row);
      expired += 1;
    }
    const stuck = await store.stuckVerified(db.read, new Date(now.getTime() - 60_000), 100);
    for (const id of stuck) await advance(ctx, id);
    const approved = await store.stuckApproved(db.read, new Date(now.getTime() - 60_000), 100);
    for (const id of approved) await applyApproved(ctx, id);
    return { expired, advanced: stuck.length + approved.length };
  }

  return { submit, verify, view, decide, queue, exportFor, sweep, options: () => requestOptions(policy) };
}

export type RequestService = ReturnType<typeof createRequestService>;
