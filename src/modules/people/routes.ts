import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import type { PeopleService } from './service.ts';

export function peopleRoutes(deps: { people: PeopleService; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const router = Router();
  mountRoute(router, deps.registry, deps.env, {
    method: 'get',
    path: '/v1/people',
    summary:
      'One person as an officer answers questions about them, found by one identifier as typed (?phone= or ?email= …): consents with history and receipts, recent contacts, do-not-call status. No field values. Audited.',
    tags: ['people'],
    access: { kind: 'officer', roles: ['privacy-agent', 'admin'] },
    // Any identifier field of the policy; phone and e-mail are the usual ones (an object, so OpenAPI can describe it).
    query: z.object({ phone: z.string().max(254).optional(), email: z.string().max(254).optional() }).catchall(z.string().max(254)),
    responses: { 200: { description: 'The people holding that identifier (none or one, in practice)' } },
    async handle({ query, ctx }) {
      return { body: await deps.people.personView(ctx, query as Record<string, string>), headers: { 'Cache-Control': 'no-store' } };
    },
  });
  return router;
}
