import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Request } from 'express';
import { problemResponse as problem } from '../../http/openapi.ts';
import { appCaller, mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { consentGrantResultSchema, consentGrantSchema, consentListSchema, consentParamsSchema, consentStateResultSchema, consentWithdrawSchema, refOnlyParamsSchema } from './schema.ts';
import type { ConsentService, ConsentSignals } from './service.ts';

/** Global Privacy Control (https://privacycg.github.io/gpc-spec/): the header value "1" is the signal. */
const signals = (req: Request): ConsentSignals => ({ gpc: req.get('sec-gpc')?.trim() === '1' });

export function consentRoutes(deps: { consent: ConsentService; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { consent, env, registry } = deps;
  const router = Router();

  mountRoute(router, registry, env, {
    method: 'put',
    path: '/v1/subjects/{ref}/consents/{purpose}',
    operationId: 'grantConsent',
    summary: 'Record consent for a purpose, optionally narrowed to channels, topics and recipients; answers the state and a signed consent receipt',
    tags: ['consent'],
    access: { kind: 'app' },
    params: consentParamsSchema,
    body: consentGrantSchema,
    responses: {
      200: { description: 'Consent in force, with its receipt', schema: consentGrantResultSchema },
      404: problem('No subject with this ref'),
      422: problem('Not a consent-based purpose, an unknown channel or topic, or an expiry in the past'),
    },
    async handle({ params, body, ctx, principal, req }) {
      return { body: await consent.grant(ctx, appCaller(principal), params.ref, params.purpose, body, signals(req)), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'delete',
    path: '/v1/subjects/{ref}/consents/{purpose}',
    operationId: 'withdrawConsent',
    summary: 'Withdraw consent for a purpose, or only some of its channels or topics (body optional); idempotent',
    tags: ['consent'],
    access: { kind: 'app' },
    params: consentParamsSchema,
    body: consentWithdrawSchema,
    bodyOptional: true,
    responses: { 200: { description: 'The consent state after the withdrawal', schema: consentStateResultSchema }, 404: problem('No subject with this ref') },
    async handle({ params, body, ctx, principal, req }) {
      return { body: await consent.withdraw(ctx, appCaller(principal), params.ref, params.purpose, body, signals(req)) };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/subjects/{ref}/consents',
    operationId: 'listConsents',
    summary: "Current consent per purpose (the app's purposes) and the append-only history",
    tags: ['consent'],
    access: { kind: 'app' },
    params: refOnlyParamsSchema,
    responses: { 200: { description: 'Consent states and history', schema: consentListSchema }, 404: problem('No subject with this ref') },
    async handle({ params, ctx, principal }) {
      return { body: await consent.list(ctx, appCaller(principal), params.ref), headers: { 'Cache-Control': 'no-store' } };
    },
  });
  return router;
}
