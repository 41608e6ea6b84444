import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import type { Notifier } from './service.ts';

const messageSchema = z
  .object({
    id: z.string(),
    requestId: z.string(),
    channel: z.string(),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    status: z.enum(['held', 'pending', 'delivered', 'failed']),
    attempts: z.number(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    expiresAt: z.string(),
  })
  .openapi('NotifierMessage');

export function notifierRoutes(deps: { notifier: Notifier; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const router = Router();
  mountRoute(router, deps.registry, deps.env, {
    method: 'get',
    path: '/v1/notifier/outbox',
    operationId: 'listNotifierOutbox',
    summary: 'Messages Custos wrote to people (verification codes), newest first: held here when no NOTIFIER_WEBHOOK_URL is set, with their delivery state when one is. Kept one day.',
    tags: ['notifier'],
    access: { kind: 'officer', roles: ['admin'] },
    query: z.strictObject({ requestId: z.string().max(100).optional(), cursor: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(200).optional() }),
    responses: { 200: { description: 'A page of messages', schema: z.object({ messages: z.array(messageSchema), next: z.string().nullable() }) } },
    async handle({ query, ctx }) {
      return { body: await deps.notifier.outbox(ctx, { requestId: query.requestId, cursor: query.cursor, limit: query.limit ?? 50 }), headers: { 'Cache-Control': 'no-store' } };
    },
  });
  return router;
}
