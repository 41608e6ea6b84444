import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import type { LoadedPolicy } from './schema.ts';

const purposeViewSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  basis: z.string(),
  collect: z.array(z.string()),
  read: z.array(z.string()),
  reveal: z.array(z.string()),
  channels: z.array(z.string()),
  topics: z.array(z.string()),
  retention: z.string().optional(),
});
const purposesResponseSchema = z.object({ policyVersion: z.string(), clientId: z.string(), purposes: z.array(purposeViewSchema) });
const policyResponseSchema = z.object({ version: z.string(), files: z.array(z.string()), policy: z.record(z.string(), z.unknown()) });

export function policyRoutes(deps: { loaded: LoadedPolicy; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { loaded, env, registry } = deps;
  const router = Router();

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/purposes',
    operationId: 'listPurposes',
    summary: "The calling app's purposes and, for each, what it may collect, read, reveal and use to contact",
    tags: ['policy'],
    access: { kind: 'app' },
    responses: { 200: { description: 'Purposes granted to this app under the loaded policy', schema: purposesResponseSchema } },
    async handle({ principal }) {
      if (principal?.kind !== 'app') return;
      const purposes = principal.purposes.flatMap((name) => {
        const p = loaded.policy.purposes[name];
        return p ? [{ name, description: p.description, basis: p.basis, collect: p.collect, read: p.read, reveal: p.reveal, channels: p.channels, topics: p.topics, retention: p.retention }] : [];
      });
      return { body: { policyVersion: loaded.version, clientId: principal.clientId, purposes } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/policy',
    operationId: 'getPolicy',
    summary: 'The loaded policy and its version',
    tags: ['policy'],
    access: { kind: 'officer', roles: ['auditor', 'privacy-agent', 'admin'] },
    responses: { 200: { description: 'Policy', schema: policyResponseSchema } },
    async handle() {
      return { body: { version: loaded.version, files: loaded.files, policy: loaded.policy } };
    },
  });
  return router;
}
