import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { problemResponse as problem } from '../../http/openapi.ts';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { streamExport } from '../../http/stream-export.ts';
import { auditActions } from './actions.ts';
import type { AuditLog } from './log.ts';
import { auditDecisions, auditEventSchema } from './schema.ts';
import type { AuditSearch, ExportFormat } from './search.ts';

// Parsed from the query string's text (no 1e3, no leading zeros, at most 15 digits); documented as the integer it is.
const count = (what: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, `must be a whole number (${what})`)
    .transform(Number)
    .openapi({ type: 'integer', minimum: 0, maximum: 999_999_999_999_999, pattern: undefined });
const positive = (what: string) => count(what).refine((n) => n >= 1, 'must be at least 1');
const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-23T00:00:00Z' }).transform((v) => new Date(v));
const code = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a code such as frequency-cap');

const treeHeadSchema = z
  .object({
    treeSize: z.number().int(),
    rootHash: z.string().describe('hex SHA-256 Merkle tree hash (RFC 9162) of the first treeSize events'),
    timestamp: z.string(),
    signature: z.string().describe('compact JWS (EdDSA) over {rootHash, timestamp, treeSize} as canonical JSON; keys at /.well-known/jwks.json'),
  })
  .openapi('TreeHead');

const treeHeadsQuery = z
  .object({
    from: instant.optional(),
    to: instant.optional(),
    afterSize: count('tree size').optional().describe('page on: heads of more events than this'),
    limit: positive('heads')
      .refine((n) => n <= 1000, 'must be at most 1000')
      .optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['from'], message: 'must not be after to' });

const filterQuery = z.object({
  subject: z.string().min(1).max(320).optional().describe('a ref of any app, a subject pseudonym, or a raw identifier (phone number, e-mail, …) in any accepted format'),
  app: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an app client id')
    .optional(),
  officer: z.string().min(1).max(200).optional().describe('officer username or id'),
  purpose: code.optional(),
  action: z.enum(auditActions, { message: `must be one of: ${auditActions.join(', ')}` }).optional(),
  decision: z.enum(auditDecisions).optional(),
  reason: code.optional().describe('a deny or decision reason code, e.g. frequency-cap'),
  from: instant.optional(),
  to: instant.optional(),
});

const eventsQuery = filterQuery
  .extend({
    cursor: z.string().max(64).optional(),
    limit: positive('events per page')
      .refine((n) => n <= 500, 'must be at most 500')
      .optional(),
    format: z.enum(['json', 'ndjson', 'csv']).optional().describe('instead of an Accept header: ndjson or csv streams the whole result as an export'),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['from'], message: 'must not be after to' });

const OFFICERS_WHO_READ_AUDIT = ['auditor', 'admin'] as const;

export function auditRoutes(deps: { log: AuditLog; search: AuditSearch; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { log, search, env, registry } = deps;
  const router = Router();
  const publicLog = { kind: 'public' } as const;

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/tree-head',
    operationId: 'getTreeHead',
    summary: 'The latest signed tree head of the audit log (public, so that auditors and witnesses outside Custos can follow it: sizes and hashes only)',
    tags: ['audit'],
    access: publicLog,
    responses: { 200: { description: 'Signed tree head', schema: treeHeadSchema } },
    async handle() {
      return { body: await log.latest(), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/tree-heads',
    operationId: 'listTreeHeads',
    summary: 'Kept tree heads signed between from and to, oldest first',
    tags: ['audit'],
    access: publicLog,
    query: treeHeadsQuery,
    responses: { 200: { description: 'Tree heads', schema: z.object({ treeHeads: z.array(treeHeadSchema) }) } },
    async handle({ query }) {
      return { body: { treeHeads: await log.heads({ from: query.from, to: query.to, afterSize: query.afterSize }, query.limit ?? 100) } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/checkpoint',
    operationId: 'getCheckpoint',
    summary: 'The latest tree head as a C2SP tlog-checkpoint signed note (Ed25519), for standard witnesses and verifiers',
    tags: ['audit'],
    access: publicLog,
    responses: { 200: { description: 'Signed note', schema: z.string(), contentType: 'text/plain; charset=utf-8' } },
    async handle({ res }) {
      res
        .set('Cache-Control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send(await log.checkpoint());
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/log-info',
    operationId: 'getLogInfo',
    summary: "What an outside verifier needs: the checkpoint origin, the note verifier key, the leaf format and the tree head signature's JWKS",
    tags: ['audit'],
    access: publicLog,
    responses: { 200: { description: 'Log parameters', schema: z.object({ origin: z.string(), noteVerifierKey: z.string(), leafFormat: z.string(), hash: z.string(), jwksUri: z.string() }) } },
    async handle() {
      return {
        body: {
          origin: log.origin,
          noteVerifierKey: log.verifierKey,
          leafFormat: 'custos-audit-leaf-v2 (RFC 8785 canonical JSON; see the README)',
          hash: 'SHA-256, RFC 9162 section 2.1',
          jwksUri: '/.well-known/jwks.json',
        },
      };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/proofs/inclusion',
    operationId: 'getInclusionProof',
    summary: 'RFC 9162 inclusion proof of the event at leaf index `index` in the tree of `treeSize` events',
    tags: ['audit'],
    access: publicLog,
    query: z.object({ index: count('leaf index'), treeSize: positive('tree size') }),
    responses: { 200: { description: 'Inclusion proof', schema: z.object({ leafIndex: z.number(), treeSize: z.number(), leafHash: z.string(), auditPath: z.array(z.string()) }) } },
    async handle({ query }) {
      return { body: await log.inclusionProof(query.index, query.treeSize) };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/proofs/consistency',
    operationId: 'getConsistencyProof',
    summary: 'RFC 9162 consistency proof that the tree of `from` events is a prefix of the tree of `to` events',
    tags: ['audit'],
    access: publicLog,
    query: z.object({ from: positive('tree size'), to: positive('tree size') }),
    responses: { 200: { description: 'Consistency proof', schema: z.object({ from: z.number(), to: z.number(), proof: z.array(z.string()) }) } },
    async handle({ query }) {
      return { body: await log.consistencyProof(query.from, query.to) };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/events',
    operationId: 'searchAuditEvents',
    summary: 'Search the audit trail, newest first, with cursor pagination; Accept: application/x-ndjson or text/csv (or format=) streams the whole result as an export. Every search is audited.',
    tags: ['audit'],
    access: { kind: 'officer', roles: OFFICERS_WHO_READ_AUDIT },
    query: eventsQuery,
    responses: {
      200: {
        description: 'A page of events, or the whole result as an export stream (Accept or format=)',
        schema: z.object({ events: z.array(auditEventSchema), nextCursor: z.string().nullable() }),
        also: {
          'application/x-ndjson': z.string().describe('one event a line, as in the JSON page'),
          'text/csv; charset=utf-8': z.string().describe('RFC 4180, a header line first; values that a spreadsheet would run as a formula are quoted'),
        },
      },
      403: problem('Not an auditor or admin'),
    },
    async handle({ query, ctx, req, res }) {
      const { cursor, limit, format: asked, ...filter } = query;
      const format =
        asked ??
        (req.accepts(['application/json', 'application/x-ndjson', 'text/csv']) === 'text/csv'
          ? 'csv'
          : req.accepts(['application/json', 'application/x-ndjson']) === 'application/x-ndjson'
            ? 'ndjson'
            : 'json');
      if (format === 'json') return { body: await search.search(ctx, filter, { cursor, limit: limit ?? 50 }), headers: { 'Cache-Control': 'no-store' } };
      await streamExport(res, { 'Content-Type': EXPORT_TYPES[format], 'Content-Disposition': `attachment; filename="custos-audit.${format}"`, 'Cache-Control': 'no-store' }, (write) =>
        search.export(ctx, filter, format, write),
      );
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/audit/stats',
    operationId: 'getAuditStats',
    summary: 'Counts of events per hour or day (UTC) by decision, by action and decision, and by deny reason',
    tags: ['audit'],
    access: { kind: 'officer', roles: OFFICERS_WHO_READ_AUDIT },
    query: z
      .object({
        from: instant.optional().describe('default: 30 days before to'),
        to: instant.optional().describe('default: now'),
        bucket: z.enum(['hour', 'day']).default('day'),
      })
      .transform((q) => {
        const to = q.to ?? new Date();
        return { ...q, to, from: q.from ?? new Date(to.getTime() - 30 * 86_400_000) };
      })
      .refine((q) => q.from <= q.to, { path: ['from'], message: 'must not be after to' })
      .refine((q) => q.to.getTime() - q.from.getTime() <= 400 * 86_400_000, { path: ['to'], message: 'the range may span at most 400 days' }),
    responses: { 200: { description: 'Counts per bucket', schema: auditStatsSchema }, 403: problem('Not an auditor or admin') },
    async handle({ query }) {
      return { body: await search.stats(query), headers: { 'Cache-Control': 'no-store' } };
    },
  });
  return router;
}

const counts = z.record(z.string(), z.number().int());
const auditStatsSchema = z
  .object({
    bucket: z.enum(['hour', 'day']),
    from: z.string(),
    to: z.string(),
    buckets: z.array(
      z.object({
        start: z.string().describe('the bucket start (UTC)'),
        total: z.number().int(),
        byDecision: counts,
        byAction: z.record(z.string(), counts).describe('action, then decision'),
        denyReasons: counts,
      }),
    ),
  })
  .openapi('AuditStats');

const EXPORT_TYPES: Record<ExportFormat, string> = { ndjson: 'application/x-ndjson', csv: 'text/csv; charset=utf-8' };
