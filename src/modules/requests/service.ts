import type { RequestContext } from '../../shared/request-context.ts';
import { advance } from './advance.ts';
import { decide } from './decide.ts';
import { createRequests, type RequestsDeps } from './requests.ts';
import type { QueueQuery, Submission } from './schema.ts';
import { submit } from './submit.ts';
import { requestOptions } from './submission-rules.ts';
import { sweep } from './sweep.ts';
import { verify } from './verify.ts';
import { exportFor, queue, view } from './view.ts';

export type { RequestsDeps } from './requests.ts';

/**
 * Customer privacy requests: one state machine over one row, one operation a
 * file (submit, verify, advance, decide, view, sweep), wired here; the rules
 * a submission must meet are in submission-rules.ts, what a request does to
 * data in apply.ts. Only a verified request reaches data, and only the data
 * held under the identifier that was verified.
 */
export function createRequestService(deps: RequestsDeps) {
  const r = createRequests(deps);
  return {
    submit: (ctx: RequestContext, input: Submission, signals: { gpc: boolean; address: string }) => submit(r, ctx, input, signals),
    verify: (ctx: RequestContext, id: string, code: string, token: string | undefined) => verify(r, ctx, id, code, token),
    view: (ctx: RequestContext, id: string, options: { token?: string; audited: boolean }) => view(r, ctx, id, options),
    decide: (ctx: RequestContext, id: string, input: { decision: 'approve' | 'reject'; reason: string }) => decide(r, ctx, id, input),
    queue: (ctx: RequestContext, query: QueueQuery) => queue(r, ctx, query),
    exportFor: (ctx: RequestContext, id: string, token: string) => exportFor(r, ctx, id, token),
    sweep: (ctx: RequestContext) => sweep(r, ctx),
    /** Carries on a verified request (what verify does after the code; the sweep after a crash). */
    advance: (ctx: RequestContext, id: string) => advance(r, ctx, id),
    options: () => requestOptions(deps.policy),
  };
}

export type RequestService = ReturnType<typeof createRequestService>;
