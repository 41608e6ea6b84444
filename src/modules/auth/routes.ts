import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { SigningKey } from '../../crypto/signing-key.ts';
import { bearerOf, mountRoute, type RouteEnvironment } from '../../http/route.ts';
import { credentialRateLimit, type RateLimitStores } from '../../http/rate-limit.ts';
import { verifyFormBody } from '../../http/problem.ts';
import {
  officerRoles,
  officerSelfSchema,
  officerSessionRequestSchema,
  officerSessionResponseSchema,
  oauthErrorSchema,
  oidcSessionRequestSchema,
  oidcSignInSchema,
  tokenRequestSchema,
  tokenResponseSchema,
} from './schema.ts';
import { OAuthError } from '../../shared/errors.ts';
import { problemResponse as problem } from '../../http/openapi.ts';
import type { AuthService } from './service.ts';

const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });
const authorizationServerMetadataSchema = z.object({
  issuer: z.string(),
  token_endpoint: z.string(),
  jwks_uri: z.string(),
  grant_types_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()),
  scopes_supported: z.array(z.string()),
  service_documentation: z.string(),
});

/** RFC 6749 section 2.3.1: client_secret_basic, with form-urlencoded id and secret. */
function basicCredentials(req: Request): { id: string; secret: string } | undefined {
  const header = req.get('authorization');
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_request', 'malformed Basic credentials');
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_request', 'malformed Basic credentials');
  }
}

function tokenClientId(req: Request): string | undefined {
  try {
    return basicCredentials(req)?.id ?? (typeof req.body?.client_id === 'string' ? req.body.client_id : undefined);
  } catch {
    return undefined;
  }
}

export function authRoutes(deps: {
  auth: AuthService;
  signingKey: SigningKey;
  env: RouteEnvironment;
  registry: OpenAPIRegistry;
  tokenRateLimit: number;
  signInRateLimit: number;
  bodyLimit: string;
  rateLimitStores: RateLimitStores;
  /** The issuer of Custos's tokens and the base of its endpoints (CUSTOS_PUBLIC_URL). */
  publicUrl: string;
  /** The scopes an app may ask for: the policy's purposes. */
  scopes: string[];
}): Router {
  const { auth, env, registry } = deps;
  const router = Router();

  router.get('/.well-known/jwks.json', (req, res) => {
    req.custos!.route = '/.well-known/jwks.json';
    res.set('Cache-Control', 'public, max-age=300').json({ keys: [deps.signingKey.publicJwk] });
  });
  registry.registerPath({
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'getJwks',
    tags: ['auth'],
    summary: 'Public keys that verify Custos tokens and consent receipts',
    security: [],
    responses: { 200: { description: 'JWK set', content: { 'application/json': { schema: jwksSchema } } } },
  });

  // RFC 8414: what an OAuth client library needs to find the token endpoint and check the tokens, by itself.
  const metadata = {
    issuer: deps.publicUrl,
    token_endpoint: `${deps.publicUrl}/oauth/token`,
    jwks_uri: `${deps.publicUrl}/.well-known/jwks.json`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // No authorization endpoint: apps only use the client credentials grant.
    response_types_supported: [] as string[],
    scopes_supported: deps.scopes,
    service_documentation: `${deps.publicUrl}/docs`,
  };
  router.get('/.well-known/oauth-authorization-server', (req, res) => {
    req.custos!.route = '/.well-known/oauth-authorization-server';
    res.set('Cache-Control', 'public, max-age=300').json(metadata);
  });
  registry.registerPath({
    method: 'get',
    path: '/.well-known/oauth-authorization-server',
    operationId: 'getAuthorizationServerMetadata',
    tags: ['auth'],
    summary: 'OAuth 2.0 authorization server metadata (RFC 8414): the token endpoint, its client authentication methods, the key set, and the scopes (the policy purposes)',
    security: [],
    responses: { 200: { description: 'Authorization server metadata', content: { 'application/json': { schema: authorizationServerMetadataSchema } } } },
  });

  router.post(
    '/oauth/token',
    express.urlencoded({ extended: false, limit: deps.bodyLimit, parameterLimit: 20, verify: verifyFormBody }),
    ...credentialRateLimit('token', deps.tokenRateLimit, tokenClientId, deps.rateLimitStores),
  );
  mountRoute(router, registry, env, {
    method: 'post',
    path: '/oauth/token',
    operationId: 'requestToken',
    summary: 'OAuth 2.0 client credentials grant (RFC 6749 section 4.4); scope is a space-separated list of purposes',
    tags: ['auth'],
    access: { kind: 'public' },
    body: tokenRequestSchema,
    bodyType: 'application/x-www-form-urlencoded',
    // The token endpoint answers in RFC 6749's error format, so it checks its own body.
    validateBody: false,
    responses: {
      200: { description: 'Access token', schema: tokenResponseSchema },
      400: { description: 'RFC 6749 error (invalid_request, unsupported_grant_type, invalid_scope)', schema: oauthErrorSchema },
      401: { description: 'invalid_client', schema: oauthErrorSchema },
      429: { description: 'Too many attempts; see Retry-After' },
    },
    async handle({ req, ctx }) {
      if (!req.is('application/x-www-form-urlencoded')) throw new OAuthError('invalid_request', 'send the request as application/x-www-form-urlencoded');
      const form = tokenRequestSchema.safeParse(req.body ?? {});
      if (!form.success) throw new OAuthError('invalid_request', 'a parameter is too long or repeated');
      const basic = basicCredentials(req);
      if (basic && form.data.client_secret !== undefined) {
        throw new OAuthError('invalid_request', 'use one client authentication method, not two');
      }
      const body = await auth.issueClientToken(ctx, {
        grantType: form.data.grant_type,
        clientId: basic?.id ?? form.data.client_id,
        clientSecret: basic?.secret ?? form.data.client_secret,
        scope: form.data.scope,
      });
      return { body, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' } };
    },
  });

  router.post(
    '/v1/officers/session',
    ...credentialRateLimit('sign-in', deps.signInRateLimit, (req) => (typeof req.body?.username === 'string' ? req.body.username.slice(0, 200) : undefined), deps.rateLimitStores),
  );
  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/officers/session',
    operationId: 'signIn',
    summary: 'Officer sign-in with username and password',
    tags: ['officers'],
    access: { kind: 'public' },
    body: officerSessionRequestSchema,
    responses: {
      200: { description: 'Officer session token', schema: officerSessionResponseSchema },
      401: problem('Unknown username or wrong password (the same answer for both)'),
      429: { description: 'Too many attempts; see Retry-After' },
    },
    async handle({ body, ctx }) {
      return { body: await auth.signInOfficer(ctx, body.username, body.password), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'delete',
    path: '/v1/officers/session',
    operationId: 'signOut',
    summary: "Sign out: ends the session of the token sent, on every replica (within a second), for a password or a provider's sign-in",
    tags: ['officers'],
    access: { kind: 'officer', roles: officerRoles },
    responses: { 204: { description: 'Signed out; the token is refused from now on' } },
    async handle({ req, ctx }) {
      await auth.signOutOfficer(ctx, bearerOf(req)!);
      return { status: 204, headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/officers/oidc',
    operationId: 'getOidcSignIn',
    summary: "Where the console sends officers to sign in with the organisation's OpenID Connect provider",
    tags: ['officers'],
    access: { kind: 'public' },
    responses: { 200: { description: 'Provider and console client; provider is null when only password sign-in is configured', schema: z.object({ provider: oidcSignInSchema.nullable() }) } },
    async handle() {
      return { body: { provider: (await auth.oidcSignIn()) ?? null }, headers: { 'Cache-Control': 'no-store' } };
    },
  });

  router.post('/v1/officers/oidc/session', ...credentialRateLimit('oidc-sign-in', deps.signInRateLimit, () => undefined, deps.rateLimitStores));
  mountRoute(router, registry, env, {
    method: 'post',
    path: '/v1/officers/oidc/session',
    operationId: 'signInWithOidc',
    summary: "Officer sign-in with an authorization code from the organisation's provider (PKCE); answers the provider's access token",
    tags: ['officers'],
    access: { kind: 'public' },
    body: oidcSessionRequestSchema,
    responses: {
      200: { description: 'Officer session token', schema: officerSessionResponseSchema },
      401: problem('The provider refused the code'),
      403: problem('The token carries no Custos role'),
      429: { description: 'Too many attempts; see Retry-After' },
    },
    async handle({ body, ctx }) {
      return { body: await auth.signInWithProvider(ctx, body), headers: { 'Cache-Control': 'no-store' } };
    },
  });

  mountRoute(router, registry, env, {
    method: 'get',
    path: '/v1/officers/me',
    operationId: 'getCurrentOfficer',
    summary: 'The signed-in officer and role',
    tags: ['officers'],
    access: { kind: 'officer', roles: officerRoles },
    responses: { 200: { description: 'Officer', schema: officerSelfSchema } },
    async handle({ principal }) {
      if (principal?.kind !== 'officer') return;
      return { body: { id: principal.id, username: principal.username, role: principal.role, via: principal.via } };
    },
  });

  return router;
}
