import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { problemResponse as problem } from '../../http/openapi.ts';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import type { DoNotCall } from './service.ts';

const dncEntrySchema = z.strictObject({ phone: z.string().min(1).max(64), note: z.string().max(500).optional() });
const officerRoles = ['privacy-agent', 'admin'] as const;

const dncEntryAddedSchema = z.object({ id: z.string(), added: z.boolean().describe('false when the number was on the internal list already') });

export function dncRoutes(deps: { doNotCall: DoNotCall; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { doNotCall, env, registry } = deps;
  const router = Router();

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/dnc/entries',
    operationId: 'addDoNotCallEntry',
    summary: 'Add an internal do-not-call entry (stored as a pseudonym only)',
    tags: ['do-not-call'],
    access: { kind: 'officer', roles: officerRoles },
    body: dncEntrySchema,
    responses: {
      201: { description: 'Added', schema: dncEntryAddedSchema },
      200: { description: 'The number was listed internally already (by an officer or an opt-out): its entry', schema: dncEntryAddedSchema },
      422: problem('Not a phone number'),
    },
    async handle({ body, ctx }) {
      const entry = await doNotCall.addEntry(ctx, body);
      return { status: entry.added ? 201 : 200, body: entry };
    },
  });

  mountRoute(router, registry, env, {
    method: 'delete',
    path: '/v1/dnc/entries/{id}',
    operationId: 'removeDoNotCallEntry',
    summary: 'Remove an internal do-not-call entry',
    tags: ['do-not-call'],
    access: { kind: 'officer', roles: officerRoles },
    params: z.object({ id: z.string().max(100) }),
    responses: { 204: { description: 'Removed' }, 404: problem('No such internal entry') },
    async handle({ params, ctx }) {
      await doNotCall.removeEntry(ctx, params.id);
      return { status: 204 };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/dnc/check',
    operationId: 'checkDoNotCall',
    summary: 'Is this number on any do-not-call list?',
    tags: ['do-not-call'],
    access: { kind: 'officer', roles: officerRoles },
    query: z.strictObject({ phone: z.string().min(1).max(64) }),
    responses: { 200: { description: 'Listed or not, with the lists', schema: z.object({ listed: z.boolean(), sources: z.array(z.string()) }) } },
    async handle({ query, ctx }) {
      return { body: await doNotCall.checkNumber(ctx, query.phone), headers: { 'Cache-Control': 'no-store' } };
    },
  });
  return router;
}
