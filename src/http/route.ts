import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import type { OfficerRole, Principal } from '../modules/auth/schema.ts';
import { MethodNotAllowed, Unauthenticated, UnsupportedMediaType, ValidationError, type FieldProblem } from '../shared/errors.ts';
import type { RequestContext } from '../shared/request-context.ts';
import { formatKeyPath } from '../shared/key-path.ts';
import './express-augment.ts';
import { problemSchema } from './openapi.ts';

/**
 * Who may call a route. Declared beside the route, documented in OpenAPI from
 * the same value. A public route that reads a credential of its own (a
 * privacy request's status token, or an officer token as an alternative)
 * names it in `credentials`, and says whether calling without one is
 * allowed (`optional`), so a generated client knows to send it.
 */
export type Access = { kind: 'public'; credentials?: ReadonlyArray<'statusToken' | 'officerToken'>; optional?: boolean } | { kind: 'app' } | { kind: 'officer'; roles: readonly OfficerRole[] };

/** The OpenAPI security requirement of an access rule: `[]` for a public route, so it overrides nothing by accident. */
function securityOf(access: Access): RouteConfig['security'] {
  if (access.kind === 'app') return [{ appToken: [] }];
  if (access.kind === 'officer') return [{ officerToken: [] }];
  const credentials = (access.credentials ?? []).map((name) => ({ [name]: [] }));
  return credentials.length > 0 && access.optional ? [{}, ...credentials] : credentials;
}

type Schema = z.ZodType;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface RouteInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  ctx: RequestContext;
  principal: Principal | undefined;
  req: Request;
  res: Response;
}

export interface RouteResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<B extends Schema | undefined, Q extends Schema | undefined, P extends Schema | undefined> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI form, e.g. /v1/subjects/{ref}. */
  path: string;
  /** The operation's name in OpenAPI, and so a generated client's method name: a verb and a noun, e.g. readSubject. */
  operationId: string;
  summary: string;
  tags: string[];
  access: Access;
  body?: B;
  /** Request body media type; JSON unless stated. */
  bodyType?: 'application/json' | 'application/x-www-form-urlencoded' | 'application/x-ndjson';
  /** False when the handler validates the body itself (documented all the same). */
  validateBody?: boolean;
  /** A request without a body is validated as `{}` (e.g. DELETE with optional narrowing). */
  bodyOptional?: boolean;
  query?: Q;
  params?: P;
  /** Per status: its schema and media type (JSON unless said), and `also` any other media types it may be answered in. */
  responses: Record<number, { description: string; schema?: Schema; contentType?: string; also?: Record<string, Schema> }>;
  handle(input: RouteInput<Infer<B>, Infer<Q>, Infer<P>>): Promise<RouteResult | void>;
}

/** The app behind an app route (access `app` guarantees one): its client id, purposes and reveal channels. */
export function appCaller(principal: Principal | undefined): { clientId: string; purposes: readonly string[]; reveal: readonly string[] } {
  if (principal?.kind !== 'app') throw new Error('app route reached without an app principal');
  return { clientId: principal.clientId, purposes: principal.purposes, reveal: principal.reveal };
}

export interface RouteEnvironment {
  policyVersion: () => string;
  authenticate: (token: string) => Promise<Principal>;
  requireRole: (principal: Principal, roles: readonly OfficerRole[]) => void;
}

function problems(error: z.ZodError, prefix: string): FieldProblem[] {
  return error.issues.map((issue) => ({ path: formatKeyPath([...(prefix ? [prefix] : []), ...issue.path]), message: issue.message }));
}

function parsePart<S extends Schema | undefined>(schema: S, value: unknown, prefix: string): Infer<S> {
  if (!schema) return undefined as Infer<S>;
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(problems(result.error, prefix));
  return result.data as Infer<S>;
}

/** The Bearer credential of a request (RFC 6750), or undefined when there is none or it is malformed. */
export function bearerOf(req: Request): string | undefined {
  return /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(req.get('authorization') ?? '')?.[1];
}

export function bearerToken(req: Request): string {
  const token = bearerOf(req);
  if (!token) throw new Unauthenticated('send "Authorization: Bearer <token>"', req.get('authorization') ? 'invalid_request' : 'none');
  return token;
}

function openApiConfig(spec: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>): RouteConfig {
  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const content = {
      ...(r.schema ? { [r.contentType ?? 'application/json']: { schema: r.schema } } : {}),
      ...Object.fromEntries(Object.entries(r.also ?? {}).map(([type, schema]) => [type, { schema }])),
    };
    responses[status] = Object.keys(content).length > 0 ? { description: r.description, content } : { description: r.description };
  }
  for (const [status, description] of Object.entries({
    400: 'Invalid request',
    401: 'Not authenticated',
    403: 'Not allowed',
    503: 'Storage or audit trail unavailable (Retry-After). `unavailable`: nothing was changed; `outcome-unknown`: a write was sent and may have been applied (retry with the same Idempotency-Key)',
  })) {
    if (spec.access.kind === 'public' && (status === '401' || status === '403')) continue;
    responses[status] ??= { description, content: { 'application/problem+json': { schema: problemSchema } } };
  }
  return {
    method: spec.method,
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    tags: spec.tags,
    description: spec.access.kind === 'officer' ? `Officer roles: ${spec.access.roles.join(', ')}` : undefined,
    security: securityOf(spec.access),
    request: {
      ...(spec.body ? { body: { required: !spec.bodyOptional, content: { [spec.bodyType ?? 'application/json']: { schema: spec.body } } } } : {}),
      ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
      ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
    },
    responses,
  };
}

const methodsByPath = new WeakMap<Router, Map<string, Set<string>>>();
const prefixesByRouter = new WeakMap<Router, Set<string>>();

/**
 * The router as one layer that lets a request in only when its path starts
 * like one of the router's routes (the part before the first parameter), so a
 * request walks the layers of its own module only, not every module's. For
 * routers whose routes all come from mountRoute. Lower case, as Express
 * matches paths case-insensitively.
 */
export function guardedRouter(router: Router): RequestHandler {
  const prefixes = prefixesByRouter.get(router) ?? new Set<string>();
  return (req, res, next) => {
    const path = req.path.toLowerCase();
    for (const prefix of prefixes) if (path.startsWith(prefix)) return router(req, res, next);
    next();
  };
}

/**
 * A known path asked with a method it does not have answers 405 with `Allow`
 * (RFC 9110 section 15.5.6) rather than 404. The set is read at request time,
 * so methods mounted later on the same path are allowed through.
 */
function answerOtherMethods(router: Router, expressPath: string, method: RouteSpec<undefined, undefined, undefined>['method']): void {
  let paths = methodsByPath.get(router);
  if (!paths) methodsByPath.set(router, (paths = new Map()));
  let methods = paths.get(expressPath);
  if (!methods) {
    const allowed = (methods = new Set());
    paths.set(expressPath, allowed);
    router.all(expressPath, (req, _res, next) => {
      if (allowed.has(req.method)) return next();
      const error = new MethodNotAllowed(`${req.method} is not supported here; use ${[...allowed].join(', ')}`);
      error.headers.Allow = [...allowed].join(', ');
      next(error);
    });
  }
  methods.add(method.toUpperCase());
  if (method === 'get') methods.add('HEAD');
}

/**
 * Mounts one route: authenticates, checks the role, validates params, query
 * and body with the route's zod schemas, then runs the handler. The same spec
 * is registered for /openapi.json, so documentation cannot drift from behaviour.
 */
export function mountRoute<B extends Schema | undefined, Q extends Schema | undefined, P extends Schema | undefined>(
  router: Router,
  registry: OpenAPIRegistry,
  env: RouteEnvironment,
  spec: RouteSpec<B, Q, P>,
): void {
  registry.registerPath(openApiConfig(spec as RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>));
  const expressPath = spec.path.replace(/\{(\w+)\}/g, ':$1');
  let prefixes = prefixesByRouter.get(router);
  if (!prefixes) prefixesByRouter.set(router, (prefixes = new Set()));
  prefixes.add(spec.path.split('{')[0]!.toLowerCase());
  answerOtherMethods(router, expressPath, spec.method);
  router[spec.method](expressPath, async (req, res) => {
    const state = req.custos!;
    state.route = spec.path;
    let principal: Principal | undefined;
    if (spec.access.kind !== 'public') {
      principal = await env.authenticate(bearerToken(req));
      state.principal = principal;
      if (spec.access.kind === 'officer') env.requireRole(principal, spec.access.roles);
      else if (principal.kind !== 'app') throw new Unauthenticated('this route is for apps; use an app access token');
    }
    const params = parsePart(spec.params, req.params, '') as Infer<P>;
    const query = parsePart(spec.query, req.query, '') as Infer<Q>;
    let body = undefined as Infer<B>;
    if (spec.body && spec.validateBody !== false) {
      const bodyType = spec.bodyType ?? 'application/json';
      const absent = !req.get('content-type') && !Number(req.get('content-length') ?? 0) && !req.get('transfer-encoding');
      if (spec.bodyOptional && absent) {
        req.body = {};
      } else if (!req.is(bodyType === 'application/json' ? ['application/json', 'application/*+json'] : bodyType)) {
        throw new UnsupportedMediaType(`send the body as ${bodyType}`);
      }
      body = parsePart(spec.body, req.body, '');
    }
    const actor = principal ? (principal.kind === 'app' ? { type: 'app' as const, id: principal.clientId } : { type: 'officer' as const, id: principal.id }) : { type: 'anonymous' as const };
    const ctx: RequestContext = { actor, requestId: state.requestId, policyVersion: env.policyVersion() };
    const result = await spec.handle({ body, query, params, ctx, principal, req, res });
    if (res.headersSent) return;
    if (result?.headers) res.set(result.headers);
    res.status(result?.status ?? 200);
    if (result?.body === undefined) res.end();
    else res.json(result.body);
  });
}
