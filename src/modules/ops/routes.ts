import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { Router, type Request } from 'express';
// The path helper only: the package's index loads the whole 1 MB UI bundle into Node.
import swaggerUiDir from 'swagger-ui-dist/absolute-path.js';
import { z } from 'zod';
import { generateOpenApiDocument, type PolicyTerm } from '../../http/openapi.ts';
import type { Metrics } from '../../http/observability.ts';
import { DatabaseStuck, type Database } from '../../storage/database.ts';

const READY_BUDGET_MS = 1500;

export interface OpsState {
  /** Set when SIGTERM arrives, so load balancers stop sending new requests. */
  shuttingDown: boolean;
}

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custos API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;
// A separate file rather than an inline script, so helmet's default CSP can stay strict.
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });`;

export function opsRoutes(deps: {
  db: Database;
  metrics: Metrics;
  registry: OpenAPIRegistry;
  state: OpsState;
  publicUrl: string;
  policyVersion: string;
  version: string;
  /** The loaded policy's purposes, channels, topics and recipients, documented as the enums of the fields that name them. */
  terms: Record<PolicyTerm, readonly string[]>;
}): Router {
  const router = Router();
  const named = (route: string) => (req: Request) => {
    req.custos!.route = route;
  };
  const statusSchema = z.object({ status: z.string(), checks: z.record(z.string(), z.string()).optional() });

  router.get('/healthz', (req, res) => {
    named('/healthz')(req);
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    named('/readyz')(req);
    const checks: Record<string, string> = { policy: deps.policyVersion, shutdown: deps.state.shuttingDown ? 'draining' : 'no' };
    let ready = !deps.state.shuttingDown;
    // Answered within READY_BUDGET_MS whatever the database does: a stuck database is "not ready", not a hung probe.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), READY_BUDGET_MS)));
    const probe = deps.db.ping().then(
      () =>
        deps.db.probeWrite().then(
          () => 'ok' as const,
          () => 'cannot-write' as const,
        ),
      (error: unknown) => (error instanceof DatabaseStuck ? ('stuck' as const) : ('unreachable' as const)),
    );
    checks.database = await Promise.race([probe, stuck]);
    clearTimeout(timer);
    if (checks.database !== 'ok') ready = false;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks });
  });
  router.get('/metrics', async (req, res) => {
    named('/metrics')(req);
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  let document: unknown;
  router.get('/openapi.json', (req, res) => {
    named('/openapi.json')(req);
    document ??= generateOpenApiDocument(deps.registry, deps.publicUrl, deps.version, deps.terms);
    res.json(document);
  });
  // Browsers ask for it on every page; no icon is better than a 404 in every console.
  router.get('/favicon.ico', (req, res) => {
    named('/favicon.ico')(req);
    res.set('Cache-Control', 'public, max-age=86400').status(204).end();
  });
  router.get('/docs', (req, res) => {
    named('/docs')(req);
    res.type('html').send(DOCS_PAGE);
  });
  router.get('/docs/init.js', (req, res) => {
    named('/docs/init.js')(req);
    res.type('application/javascript').send(DOCS_INIT);
  });
  router.use(
    '/docs/assets',
    (req, _res, next) => {
      named('/docs/assets')(req);
      next();
    },
    express.static(swaggerUiDir(), { index: false, maxAge: '1h' }),
  );

  for (const [path, operationId, summary] of [
    ['/healthz', 'getLiveness', 'Liveness'],
    ['/readyz', 'getReadiness', 'Readiness: database reachable and writable, policy loaded, not draining'],
  ] as const) {
    deps.registry.registerPath({
      method: 'get',
      path,
      operationId,
      tags: ['operations'],
      summary,
      security: [],
      responses: {
        200: { description: 'OK', content: { 'application/json': { schema: statusSchema } } },
        503: { description: 'Not ready (draining, or the database unreachable, stuck or read-only)', content: { 'application/json': { schema: statusSchema } } },
      },
    });
  }
  deps.registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['operations'],
    summary: 'Prometheus metrics',
    security: [],
    responses: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { [deps.metrics.registry.contentType]: { schema: z.string() } } } },
  });
  return router;
}
