import { decodeKeysetCursor, encodeKeysetCursor } from '../../shared/keyset-cursor.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { RequestStateConflict } from './errors.ts';
import { effectiveStatus, requestFor, type Requests } from './requests.ts';
import { CLOSED_STATUSES, type QueueQuery, type RequestScope, type RequestType, type RequestView } from './schema.ts';
import { REQUEST_ID } from './secrets.ts';
import type { RequestRow } from './store.ts';

export async function toView(r: Requests, row: RequestRow): Promise<RequestView> {
  const { db, store, openFor } = r;
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

export async function view(r: Requests, ctx: RequestContext, id: string, options: { token?: string; audited: boolean }): Promise<RequestView> {
  const { audit, customer } = r;
  const row = await requestFor(r, id, options.token);
  const result = await toView(r, row);
  if (options.audited) await audit.record(ctx.actor.type === 'officer' ? ctx : customer(ctx, id), { action: 'requests.request.read', decision: 'allow', reasons: [{ code: result.status }] });
  return result;
}

export async function queue(r: Requests, ctx: RequestContext, query: QueueQuery): Promise<{ requests: RequestView[]; next: string | null }> {
  const { db, audit, store } = r;
  const limit = query.limit ?? 50;
  const now = new Date();
  const openStatuses = ['pending-verification', 'verified', 'pending-approval', 'approved'];
  const rows = await store.queuePage(
    db.read,
    { status: query.status, type: query.type, overdueAt: query.overdue === 'true' ? now : undefined, openStatuses, after: query.cursor ? decodeKeysetCursor(query.cursor, REQUEST_ID) : undefined },
    limit,
  );
  const requests = await Promise.all(rows.map((row) => toView(r, row)));
  await audit.record(ctx, { action: 'requests.queue.list', decision: 'allow', reasons: [{ code: 'requests', detail: String(requests.length) }] });
  const last = rows.at(-1);
  return { requests, next: last && rows.length === limit ? encodeKeysetCursor(last.dueAt, last.id) : null };
}

export async function exportFor(r: Requests, ctx: RequestContext, id: string, token: string) {
  const { actions, audit, customer } = r;
  const row = await requestFor(r, id, token);
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
