import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { policyTerm, problemResponse as problem } from '../../http/openapi.ts';
import { DENY_CODES } from './rules.ts';
import { appCaller, mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { sendJsonInBatches } from '../../http/stream-json.ts';
import { streamExport } from '../../http/stream-export.ts';
import { ValidationError } from '../../shared/errors.ts';
import { noteOnRequest } from '../../shared/telemetry.ts';
import type { ContactService } from './service.ts';

const channelTerm = policyTerm('channel', z.string().min(1).max(64));
const purposeTerm = policyTerm('purpose', z.string().min(1).max(64));
const topicTerm = policyTerm('topic', z.string().min(1).max(64));
const recipientSchema = policyTerm('recipient', z.string().min(1).max(200)).optional().describe('the brand or partner the contact is for; a consent narrowed to recipients covers only them');
const authorizeSchema = z
  .strictObject({ ref: z.string().max(100), channel: channelTerm, purpose: purposeTerm, topic: topicTerm.optional(), recipient: recipientSchema })
  .openapi('ContactAuthorizeRequest');
const reasonSchema = z.object({ code: z.enum(DENY_CODES), detail: z.string() }).openapi('ContactDenyReason');
const authorizeAnswerSchema = z
  .union([
    z.object({ decision: z.literal('allow'), ticket: z.string(), expiresAt: z.string() }),
    z.object({
      decision: z.literal('deny'),
      reasons: z.array(reasonSchema),
      retryAfter: z.string().optional().describe('earliest time a retry can be allowed, when only quiet hours or caps stand in the way'),
    }),
  ])
  .openapi('ContactAuthorizeAnswer');
const ticketParams = z.object({ ticket: z.string().max(100) });
export const SCRUB_MAX_REFS = 100_000;
const scrubSchema = z
  .strictObject({
    channel: channelTerm,
    purpose: purposeTerm,
    topic: topicTerm.optional(),
    recipient: recipientSchema,
    refs: z.array(z.string().max(100)).min(1).max(SCRUB_MAX_REFS),
  })
  .openapi('ContactScrubRequest');
const scrubAnswerSchema = z.object({ allowed: z.array(z.string()), denied: z.array(z.object({ ref: z.string(), reasons: z.array(reasonSchema) })) }).openapi('ContactScrubAnswer');
const outcomeSchema = z.strictObject({ status: z.enum(['sent', 'failed', 'not-sent']) });
const suppressionsQuery = z.strictObject({
  channel: channelTerm,
  purpose: purposeTerm,
  topic: topicTerm.optional(),
  recipient: recipientSchema,
  format: z.enum(['refs', 'hashed-phone']).default('refs').describe('refs, or salted SHA-256 hashes of the E.164 numbers (apps that may reveal the number on this channel)'),
});
const suppressionLineSchema = z
  .union([
    z.object({ ref: z.string(), reasons: z.array(z.enum(DENY_CODES)) }),
    z.object({ phoneHash: z.string().describe('hex SHA-256 of the salt (Custos-Hash-Salt, base64) followed by the E.164 number'), reasons: z.array(z.enum(DENY_CODES)) }),
    z.object({ complete: z.literal(true), checked: z.number().int(), suppressed: z.number().int() }).describe('the last line: a list without it was cut short'),
  ])
  .openapi('SuppressionLine');

export function contactRoutes(deps: { contacts: ContactService; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { contacts, env, registry } = deps;
  const router = Router();

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/contacts/authorize',
    operationId: 'authorizeContact',
    summary:
      'May this person be contacted now, on this channel, for this purpose? An allow reserves a slot against every frequency cap and returns a ticket. Send Idempotency-Key to make retries safe.',
    tags: ['contacts'],
    access: { kind: 'app' },
    body: authorizeSchema,
    responses: {
      200: { description: 'allow with a ticket, or deny with every reason', schema: authorizeAnswerSchema },
      404: problem('No subject with this ref'),
      422: problem('Unknown channel or purpose, or a topic the purpose lacks'),
    },
    async handle({ body, ctx, principal, req }) {
      const key = req.get('idempotency-key');
      if (key !== undefined && !/^[\x21-\x7e]{1,200}$/.test(key)) throw new ValidationError([{ path: 'Idempotency-Key', message: 'must be 1-200 printable ASCII characters' }]);
      const answer = await contacts.authorize(ctx, appCaller(principal), body, key);
      noteOnRequest({
        'custos.decision': answer.decision,
        'custos.purpose': body.purpose,
        'custos.channel': body.channel,
        ...(answer.decision === 'deny' ? { 'custos.reasons': answer.reasons.map((r) => r.code) } : {}),
      });
      return { body: answer, headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/contacts/scrub',
    operationId: 'scrubContacts',
    summary: 'Check a whole campaign list (up to 100,000 refs) against consent, do-not-call, quiet hours and caps, without reserving slots',
    tags: ['contacts'],
    access: { kind: 'app' },
    body: scrubSchema,
    responses: { 200: { description: 'Allowed refs, and denied refs with every reason', schema: scrubAnswerSchema }, 422: problem('Unknown channel or purpose, or a topic the purpose lacks') },
    async handle({ body, ctx, principal, res }) {
      const answer = await contacts.scrub(ctx, appCaller(principal), body);
      await sendJsonInBatches(res, answer, { 'Cache-Control': 'no-store' });
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/suppressions',
    operationId: 'listSuppressions',
    summary:
      'A suppression list for systems that contact people offline: every ref of this app that may not be contacted now on this channel, for this purpose (topic, recipient), with the reasons, as NDJSON; the last line says the list is complete. format=hashed-phone lists salted hashes of the numbers instead (the salt, new for each list, in Custos-Hash-Salt). Each person decided is audited, as a scrub is.',
    tags: ['contacts'],
    access: { kind: 'app' },
    query: suppressionsQuery,
    responses: {
      200: { description: 'One line per suppressed ref (or hash), then the completion line', schema: suppressionLineSchema, contentType: 'application/x-ndjson' },
      403: problem('hashed-phone for an app that may not reveal the number on this channel'),
      422: problem('Unknown channel or purpose, or a topic the purpose lacks'),
    },
    async handle({ query, ctx, principal, res }) {
      const { salt, lines } = await contacts.suppressions(ctx, appCaller(principal), query);
      const headers: Record<string, string> = { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store', ...(salt ? { 'Custos-Hash-Salt': salt.toString('base64') } : {}) };
      await streamExport(res, headers, async (write) => {
        let batch = '';
        for (;;) {
          const next = await lines.next();
          if (next.done) {
            await write(`${batch}${JSON.stringify({ complete: true, ...next.value })}\n`);
            return;
          }
          batch += `${JSON.stringify(next.value)}\n`;
          if (batch.length >= 64 * 1024) {
            await write(batch);
            batch = '';
          }
        }
      });
    },
  });

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/contacts/{ticket}/reveal',
    operationId: 'revealContact',
    summary: "The raw phone or e-mail for the ticket's channel, once, if the purpose lists it in reveal",
    tags: ['contacts'],
    access: { kind: 'app' },
    params: ticketParams,
    responses: {
      200: { description: 'The identifier', schema: z.object({ channel: z.string(), field: z.string(), value: z.string() }) },
      404: problem('No such ticket'),
      409: problem('Already revealed, closed or expired'),
    },
    async handle({ params, ctx, principal }) {
      return { body: await contacts.reveal(ctx, appCaller(principal), params.ticket), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/contacts/{ticket}/outcome',
    operationId: 'recordContactOutcome',
    summary: 'Record what happened: sent, failed, or not-sent (which gives the reserved slot back)',
    tags: ['contacts'],
    access: { kind: 'app' },
    params: ticketParams,
    body: outcomeSchema,
    responses: { 200: { description: 'Recorded', schema: z.object({ ticket: z.string(), status: z.string() }) }, 404: problem('No such ticket'), 409: problem('Outcome already recorded') },
    async handle({ params, body, ctx, principal }) {
      return { body: await contacts.outcome(ctx, appCaller(principal), params.ticket, body.status) };
    },
  });

  return router;
}
