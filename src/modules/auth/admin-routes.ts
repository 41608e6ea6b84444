import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { problemResponse as problem } from '../../http/openapi.ts';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { NotFound } from '../../shared/errors.ts';
import { appViewSchema, createAppRequestSchema, createdAppSchema, createdOfficerSchema, createOfficerRequestSchema, officerViewSchema } from './schema.ts';
import type { AuthService } from './service.ts';

const admins = ['admin'] as const;
const noStore = { 'Cache-Control': 'no-store' };

/**
 * Apps and officers over HTTP, for the console's admin view: the same service
 * calls as `custos apps` and `custos officers`, with the same audit events.
 */
export function adminRoutes(deps: { auth: AuthService; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { auth, env, registry } = deps;
  const router = Router();

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/admin/apps',
    operationId: 'listApps',
    summary: 'Apps (machine clients), removed ones included',
    tags: ['admin'],
    access: { kind: 'officer', roles: admins },
    responses: { 200: { description: 'Apps, oldest first', schema: z.object({ apps: z.array(appViewSchema) }) } },
    async handle() {
      return { body: { apps: await auth.listApps() }, headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/admin/apps',
    operationId: 'createApp',
    summary: 'Register an app; its client secret is in this answer only',
    tags: ['admin'],
    access: { kind: 'officer', roles: admins },
    body: createAppRequestSchema,
    responses: { 201: { description: 'Created', schema: createdAppSchema }, 400: problem('Unknown purpose or channel') },
    async handle({ body, ctx }) {
      const app = await auth.createApp(ctx, body);
      return { status: 201, body: app, headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'delete',
    path: '/v1/admin/apps/{clientId}',
    operationId: 'removeApp',
    summary: 'Remove an app; its tokens stop working at once',
    tags: ['admin'],
    access: { kind: 'officer', roles: admins },
    params: z.object({ clientId: z.string().max(100) }),
    responses: { 204: { description: 'Removed' }, 404: problem('No active app with this client id') },
    async handle({ params, ctx }) {
      if (!(await auth.removeApp(ctx, params.clientId))) throw new NotFound(`no active app with client id ${params.clientId}`);
      return { status: 204 };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/admin/officers',
    operationId: 'listOfficers',
    summary: 'Officers who sign in with a password, removed ones included',
    tags: ['admin'],
    access: { kind: 'officer', roles: admins },
    responses: { 200: { description: 'Officers, oldest first', schema: z.object({ officers: z.array(officerViewSchema) }) } },
    async handle() {
      return { body: { officers: await auth.listOfficers() }, headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/admin/officers',
    operationId: 'createOfficer',
    summary: 'Create an officer; a generated password is in this answer only',
    tags: ['admin'],
    access: { kind: 'officer', roles: admins },
    body: createOfficerRequestSchema,
    responses: { 201: { description: 'Created', schema: createdOfficerSchema }, 409: problem('The username is taken'), 400: problem('Username or password does not meet the rules') },
    async handle({ body, ctx }) {
      return { status: 201, body: await auth.createOfficer(ctx, body), headers: noStore };
    },
  });

  mountRoute(router, registry, env, {
    method: 'delete',
    path: '/v1/admin/officers/{id}',
    operationId: 'removeOfficer',
    summary: 'Remove an officer; their sessions stop working at once (the record stays, the trail names them)',
    tags: ['admin'],
    access: { kind: 'officer', roles: admins },
    params: z.object({ id: z.string().max(100) }),
    responses: { 204: { description: 'Removed' }, 404: problem('No active officer with this id'), 409: problem('Officers cannot remove themselves') },
    async handle({ params, ctx }) {
      if (!(await auth.removeOfficer(ctx, params.id))) throw new NotFound(`no active officer with id ${params.id}`);
      return { status: 204 };
    },
  });
  return router;
}
