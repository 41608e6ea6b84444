import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { problemResponse as problem } from '../../http/openapi.ts';
import { addressRateLimit, type RateLimitStores } from '../../http/rate-limit.ts';
import { bearerOf, mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { Unauthenticated } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { decisionSchema, queueQuerySchema, requestOptionsSchema, requestViewSchema, submissionSchema, submittedSchema, verifySchema } from './schema.ts';
import { STATUS_TOKEN } from './secrets.ts';
import type { RequestService } from './service.ts';

const idParams = z.object({ id: z.string().max(100) });
const agentRoles = ['privacy-agent', 'admin'] as const;
const noStore = { 'Cache-Control': 'no-store' };

function statusToken(req: Request): string {
  const token = bearerOf(req);
  if (!token || !STATUS_TOKEN.test(token)) throw new Unauthenticated('send the status token of this request as "Authorization: Bearer <statusToken>"', token ? 'invalid_token' : 'none');
  return token;
}

export function requestRoutes(deps: { requests: RequestService; env: RouteEnvironment; registry: OpenAPIRegistry; ratePerMinute: number; rateLimitStores: RateLimitStores }): Router {
  const { requests, env, registry } = deps;
  const router = Router();
  // Anyone may call these: each client address gets a small budget per minute (and each identifier one per hour, in the service).
  router.post('/v1/privacy-requests', addressRateLimit(deps.ratePerMinute, 'privacy-request-submit', deps.rateLimitStores));
  router.post('/v1/privacy-requests/:id/verify', addressRateLimit(deps.ratePerMinute * 3, 'privacy-request-verify', deps.rateLimitStores));

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/privacy-requests',
    operationId: 'submitPrivacyRequest',
    summary:
      'A person asks, with no account, to see their data (access), to stop marketing (opt-out), to correct a value or to have their data erased. A one-time code goes to the identifier; the answer is the same whether or not Custos holds it. Sec-GPC: 1 is recorded and applied once verified.',
    tags: ['privacy requests'],
    access: { kind: 'public' },
    body: submissionSchema,
    responses: {
      202: { description: 'Accepted; a code is on its way to the identifier', schema: submittedSchema },
      422: problem('An identifier that is not valid, a scope purpose not based on consent, or a correction of a field no purpose collects'),
      429: problem('Too many requests from this address, or for this identifier in the last hour'),
    },
    async handle({ body, ctx, req }) {
      return { status: 202, body: await requests.submit(ctx, body, { gpc: req.get('sec-gpc')?.trim() === '1', address: req.ip ?? 'unknown' }), headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/privacy-request-options',
    operationId: 'getPrivacyRequestOptions',
    summary: 'What a person can ask for under the loaded policy (opt-out channels and topics, identifiers, correctable fields); the privacy center builds its forms from it',
    tags: ['privacy requests'],
    access: { kind: 'public' },
    responses: { 200: { description: 'Options', schema: requestOptionsSchema } },
    async handle() {
      return { body: requests.options(), headers: { 'Cache-Control': 'public, max-age=60' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/privacy-requests/{id}/verify',
    operationId: 'verifyPrivacyRequest',
    summary:
      'Enter the one-time code (6 digits, 10 minutes, 5 tries). Opt-outs apply at once; an access export is ready at once; corrections and erasures go to an agent. Send the status token as Bearer if you have it.',
    tags: ['privacy requests'],
    access: { kind: 'public', credentials: ['statusToken'], optional: true },
    params: idParams,
    body: verifySchema,
    responses: {
      200: { description: 'Verified; the request as it now stands', schema: requestViewSchema },
      404: problem('No such request (or the status token is of another request)'),
      409: problem('Already verified, locked after too many wrong codes, or expired'),
      422: problem('Wrong code; attemptsLeft says how many tries remain'),
    },
    async handle({ params, body, ctx, req }) {
      const token = bearerOf(req);
      return { body: await requests.verify(ctx, params.id, body.code, token), headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/privacy-requests/{id}',
    operationId: 'getPrivacyRequest',
    summary: "A request's status, due date and steps: for the person with its status token, or for a privacy agent or admin with an officer token",
    tags: ['privacy requests'],
    access: { kind: 'public', credentials: ['statusToken', 'officerToken'] },
    params: idParams,
    responses: { 200: { description: 'The request', schema: requestViewSchema }, 401: problem('No status token or officer token'), 404: problem('No such request for this status token') },
    async handle({ params, ctx, req }) {
      const token = bearerOf(req);
      if (token && STATUS_TOKEN.test(token)) return { body: await requests.view(ctx, params.id, { token, audited: true }), headers: noStore };
      if (!token) throw new Unauthenticated('send the status token as "Authorization: Bearer <statusToken>", or an officer token', 'none');
      const principal = await env.authenticate(token);
      env.requireRole(principal, agentRoles);
      req.custos!.principal = principal;
      const officer: RequestContext = { ...ctx, actor: { type: 'officer', id: principal.kind === 'officer' ? principal.id : undefined } };
      return { body: await requests.view(officer, params.id, { audited: true }), headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/privacy-requests/{id}/export',
    operationId: 'getPrivacyRequestExport',
    summary:
      'The access export (JSON): every field held and its value, the purposes, legal basis and retention it is held for, the consent history with signed receipts, the contacts made and the access log from the audit trail. Identifier values other than the verified one are withheld.',
    tags: ['privacy requests'],
    access: { kind: 'public', credentials: ['statusToken'] },
    params: idParams,
    responses: {
      200: { description: 'The export', schema: z.object({ requestId: z.string(), generatedAt: z.string() }).passthrough() },
      401: problem('No status token'),
      404: problem('No such request for this status token'),
      409: problem('Not an access request, or not verified'),
    },
    async handle({ params, ctx, req, res }) {
      const body = await requests.exportFor(ctx, params.id, statusToken(req));
      res.attachment(`custos-export-${params.id}.json`);
      return { body, headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/privacy-requests/{id}/decision',
    operationId: 'decidePrivacyRequest',
    summary: 'Approve or reject a correction or an erasure, with a reason the person sees (e.g. a legal hold). Approval applies it through the vault.',
    tags: ['privacy requests'],
    access: { kind: 'officer', roles: agentRoles },
    params: idParams,
    body: decisionSchema,
    responses: {
      200: { description: 'Decided; the request as it now stands', schema: requestViewSchema },
      404: problem('No such request'),
      409: problem("Not pending approval, or the correction conflicts with another person's identifiers"),
    },
    async handle({ params, body, ctx }) {
      return { body: await requests.decide(ctx, params.id, body) };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/privacy-requests',
    operationId: 'listPrivacyRequests',
    summary: 'The queue, by due date (policy requests.deadline); overdue requests are flagged. Cursor pagination.',
    tags: ['privacy requests'],
    access: { kind: 'officer', roles: agentRoles },
    query: queueQuerySchema,
    responses: { 200: { description: 'A page of requests', schema: z.object({ requests: z.array(requestViewSchema), next: z.string().nullable() }) } },
    async handle({ query, ctx }) {
      return { body: await requests.queue(ctx, query), headers: noStore };
    },
  });

  return router;
}
