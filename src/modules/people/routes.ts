import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { consentHistoryEntrySchema, consentStateSchema } from '../consent/schema.ts';
import type { PeopleService } from './service.ts';

const doNotCallStatusSchema = z.object({
  listed: z.boolean(),
  sources: z.array(z.string()).describe('the lists that hold the number: internal, or a registry source'),
  internalEntries: z.array(z.string()).describe('ids of the internal list entries (DELETE /v1/dnc/entries/{id})'),
});

const personViewSchema = z
  .object({
    people: z.array(
      z.object({
        subject: z.string().describe("the subject's pseudonym (as in the audit trail)"),
        consents: z.object({ purposes: z.array(consentStateSchema), history: z.array(consentHistoryEntrySchema) }),
        contacts: z
          .array(
            z.object({
              at: z.string().describe('when the slot was reserved'),
              app: z.string().describe("the app's name"),
              appId: z.string(),
              channel: z.string(),
              purpose: z.string(),
              topic: z.string().nullable(),
              revealed: z.boolean(),
              outcome: z.string().describe('reserved, sent, failed or not-sent'),
            }),
          )
          .describe('the latest 50, newest first'),
        doNotCall: doNotCallStatusSchema.nullable().describe('null when no phone is held'),
      }),
    ),
    doNotCall: doNotCallStatusSchema.optional().describe('asked by phone and nobody holds it: the number on the lists all the same'),
  })
  .openapi('PersonView');

export function peopleRoutes(deps: { people: PeopleService; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const router = Router();
  mountRoute(router, deps.registry, deps.env, {
    method: 'get',
    path: '/v1/people',
    operationId: 'findPeople',
    summary:
      'One person as an officer answers questions about them, found by one identifier as typed (?phone= or ?email= …): consents with history and receipts, recent contacts, do-not-call status. No field values. Audited.',
    tags: ['people'],
    access: { kind: 'officer', roles: ['privacy-agent', 'admin'] },
    // Any identifier field of the policy; phone and e-mail are the usual ones (an object, so OpenAPI can describe it).
    query: z.object({ phone: z.string().max(254).optional(), email: z.string().max(254).optional() }).catchall(z.string().max(254)),
    responses: { 200: { description: 'The people holding that identifier (none or one, in practice)', schema: personViewSchema } },
    async handle({ query, ctx }) {
      return { body: await deps.people.personView(ctx, query as Record<string, string>), headers: { 'Cache-Control': 'no-store' } };
    },
  });
  return router;
}
