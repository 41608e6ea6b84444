import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { problemResponse as problem } from '../../http/openapi.ts';
import { mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { UnsupportedMediaType, ValidationError } from '../../shared/errors.ts';
import { importListSchema, importParamsSchema, importQuerySchema, importViewQuerySchema, importViewSchema } from './schema.ts';
import type { ImportService } from './service.ts';

const MEDIA_TYPE = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

const uploadQuerySchema = importQuerySchema.extend({
  mapping: z.string().max(20_000).optional().describe('for format=csv: the mapping, as JSON (the keys of a --mapping YAML file)'),
});

/** The body as bytes, inflated when it was sent compressed (gzip, deflate, br), as JSON bodies are. */
function bodyStream(req: Request): Readable {
  const encoding = (req.get('content-encoding') ?? 'identity').toLowerCase();
  if (encoding === 'gzip') return req.pipe(zlib.createGunzip());
  if (encoding === 'deflate') return req.pipe(zlib.createInflate());
  if (encoding === 'br') return req.pipe(zlib.createBrotliDecompress());
  if (encoding !== 'identity') throw new UnsupportedMediaType(`Content-Encoding ${encoding} is not supported; send gzip, deflate, br or none`);
  return req;
}

export function importRoutes(deps: { imports: ImportService; env: RouteEnvironment; registry: OpenAPIRegistry }): Router {
  const { imports, env, registry } = deps;
  const router = Router();

  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/imports',
    operationId: 'startImport',
    summary: 'Import customers with their consent history, do-not-call flags and recent contacts (NDJSON, or CSV with a mapping); the body is streamed',
    tags: ['imports'],
    access: { kind: 'officer', roles: ['admin'] },
    query: uploadQuerySchema,
    body: z.string().describe('one import record (SPEC §10) a line; text/csv with format=csv'),
    bodyType: 'application/x-ndjson',
    validateBody: false,
    responses: {
      202: { description: 'The file was checked whole and its import started: follow it at GET /v1/imports/{id}', schema: importViewSchema },
      200: { description: 'A dry run: what the import would do, with nothing written', schema: importViewSchema },
      400: problem('The file is not NDJSON or CSV, a line is over 1 MB, the mapping names unknown fields or columns, or the app is unknown'),
      409: problem('Another import for this app is running'),
      413: problem('The upload is larger than IMPORT_MAX_UPLOAD_BYTES'),
      415: problem('Not application/x-ndjson (format=ndjson) or text/csv (format=csv)'),
    },
    async handle({ query, ctx, req }) {
      if (!req.is(MEDIA_TYPE[query.format])) throw new UnsupportedMediaType(`send the file as ${MEDIA_TYPE[query.format]} for format=${query.format}`);
      if (query.format === 'csv' && !query.mapping) throw new ValidationError([{ path: 'mapping', message: 'a CSV import needs its mapping (as JSON)' }]);
      let mapping;
      if (query.mapping) {
        let raw: unknown;
        try {
          raw = JSON.parse(query.mapping);
        } catch {
          throw new ValidationError([{ path: 'mapping', message: 'is not JSON' }]);
        }
        mapping = imports.mappingOf(raw);
      }
      const outcome = await imports.importUpload(ctx, bodyStream(req), {
        app: query.app,
        format: query.format,
        mapping,
        dryRun: query.dryRun === 'true',
        maxErrors: query.maxErrors,
        resume: query.resume,
      });
      if ('dryRun' in outcome) return { status: 200, body: outcome.dryRun, headers: { 'Cache-Control': 'no-store' } as Record<string, string> };
      return { status: 202, body: outcome.started, headers: { Location: `/v1/imports/${outcome.started.id}`, 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/imports',
    operationId: 'listImports',
    summary: 'The last 50 imports, newest first: progress, counts and refusals',
    tags: ['imports'],
    access: { kind: 'officer', roles: ['admin'] },
    responses: { 200: { description: 'Imports', schema: importListSchema } },
    async handle({ ctx }) {
      return { body: { imports: await imports.list(ctx) }, headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/imports/{id}',
    operationId: 'getImport',
    summary: "An import's progress, counts and refusals (line, field, reason; never a value); refs=true adds the CRM's ids beside the app's refs",
    tags: ['imports'],
    access: { kind: 'officer', roles: ['admin'] },
    params: importParamsSchema,
    query: importViewQuerySchema,
    responses: { 200: { description: 'The import', schema: importViewSchema }, 404: problem('No import with this id') },
    async handle({ params, query, ctx }) {
      return { body: await imports.view(ctx, params.id, { refs: query.refs === 'true' }), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  return router;
}
