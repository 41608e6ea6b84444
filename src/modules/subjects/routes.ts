import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { appCaller, mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { problemResponse as problem } from '../../http/openapi.ts';
import { ValidationError } from '../../shared/errors.ts';
import { lookupQuerySchema, lookupResultSchema, purposeQuerySchema, refParamsSchema, subjectCreateSchema, subjectUpdateSchema, subjectViewSchema, subjectWriteResultSchema } from './schema.ts';
import type { SubjectService } from './service.ts';

export function subjectRoutes(deps: { subjects: SubjectService; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { subjects, env, registry } = deps;
  const router = Router();

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/subjects',
    operationId: 'writeSubject',
    summary: 'Write a customer for a purpose: creates the subject, or updates the one its normalized identifiers already name',
    tags: ['subjects'],
    access: { kind: 'app' },
    body: subjectCreateSchema,
    responses: {
      201: { description: 'Created', schema: subjectWriteResultSchema },
      200: { description: 'An existing subject matched; attributes merged', schema: subjectWriteResultSchema },
      409: problem('The identifiers belong to different subjects'),
      422: problem('A field the purpose may not collect, or an invalid identifier; nothing was stored'),
    },
    async handle({ body, ctx, principal }) {
      const result = await subjects.writeSubject(ctx, appCaller(principal), body);
      return { status: result.created ? 201 : 200, body: { ref: result.ref, created: result.created, changed: result.changed } };
    },
  });

  // Mounted before /v1/subjects/{ref}, which would otherwise take "lookup" for a ref.
  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/subjects/lookup',
    operationId: 'lookupSubject',
    summary: "Find the caller's ref for the subject holding one identifier, e.g. ?purpose=support&phone=…",
    tags: ['subjects'],
    access: { kind: 'app' },
    query: lookupQuerySchema,
    responses: { 200: { description: "The caller's ref", schema: lookupResultSchema }, 404: problem('No subject holds this identifier') },
    async handle({ query, ctx, principal }) {
      const { purpose, ...rest } = query;
      const named = Object.entries(rest);
      if (named.length !== 1) throw new ValidationError([{ path: '', message: 'give exactly one identifier besides purpose, e.g. phone=…' }]);
      const [field, value] = named[0]!;
      return { body: await subjects.lookupSubject(ctx, appCaller(principal), purpose, { field, value }) };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/subjects/{ref}',
    operationId: 'readSubject',
    summary: "Read a subject for a purpose: only that purpose's read fields; identifiers as pseudonyms",
    tags: ['subjects'],
    access: { kind: 'app' },
    params: refParamsSchema,
    query: purposeQuerySchema,
    responses: { 200: { description: 'The fields this purpose may read', schema: subjectViewSchema }, 404: problem('No subject with this ref for this app') },
    async handle({ params, query, ctx, principal }) {
      return { body: await subjects.readSubject(ctx, appCaller(principal), params.ref, query.purpose, query.recipient), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'patch',
    path: '/v1/subjects/{ref}',
    operationId: 'updateSubject',
    summary: 'Update a subject under the same minimal-collection rules; null removes an attribute',
    tags: ['subjects'],
    access: { kind: 'app' },
    params: refParamsSchema,
    body: subjectUpdateSchema,
    responses: {
      200: { description: 'Updated', schema: subjectWriteResultSchema },
      404: problem('No subject with this ref for this app'),
      409: problem('An identifier belongs to another subject'),
      422: problem('A field the purpose may not collect, or an invalid identifier; nothing was stored'),
    },
    async handle({ params, body, ctx, principal }) {
      const result = await subjects.writeSubject(ctx, appCaller(principal), body, params.ref);
      return { body: { ref: result.ref, created: false, changed: result.changed } };
    },
  });
  return router;
}
