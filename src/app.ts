import express, { type Express } from 'express';
import helmet from 'helmet';
import { authenticatedBeforeBody } from './http/authenticated-before-body.ts';
import { largeJsonBodies } from './http/large-json.ts';
import { DatabaseRateLimitStore } from './storage/rate-limit-store.ts';
import { requestObservability } from './http/observability.ts';
import { notFoundHandler, problemHandler, verifyJsonBody, wellFormedUrl } from './http/problem.ts';
import { guardedRouter, type RouteEnvironment } from './http/route.ts';
import { adminRoutes } from './modules/auth/admin-routes.ts';
import { authRoutes } from './modules/auth/routes.ts';
import { opsRoutes } from './modules/ops/routes.ts';
import { policyRoutes } from './modules/policies/routes.ts';
import { subjectRoutes } from './modules/subjects/routes.ts';
import { consentRoutes } from './modules/consent/routes.ts';
import { contactRoutes } from './modules/contacts/routes.ts';
import { dncRoutes } from './modules/dnc/routes.ts';
import { auditRoutes } from './modules/audit/routes.ts';
import { notifierRoutes } from './modules/notifier/routes.ts';
import { peopleRoutes } from './modules/people/routes.ts';
import { webRoutes } from './web/routes.ts';
import { requestRoutes } from './modules/requests/routes.ts';
import { importRoutes } from './modules/imports/routes.ts';
import type { Runtime } from './runtime.ts';
import { CUSTOS_VERSION } from './shared/version.ts';

/** Builds the HTTP app from the modules. Listening and shutdown live in server.ts. */
export function createApp(runtime: Runtime): Express {
  const { config, logger, loaded, auth, registry } = runtime;
  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);
  // upgrade-insecure-requests makes a browser fetch every asset over https: right behind TLS,
  // a blank /docs when Custos is reached over plain http by any other host name.
  const https = config.publicUrl.startsWith('https:');
  // Likewise Cross-Origin-Opener-Policy: browsers ignore it (with a console error) on an untrustworthy http origin.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: https ? [] : null } }, crossOriginOpenerPolicy: https }));
  app.use(requestObservability(logger, runtime.metrics));
  app.use(wellFormedUrl);
  // Every JSON body is checked in one linear pass before it is parsed (depth, duplicate keys,
  // reserved keys, NUL and half surrogates, UTF-8). Compressed bodies (gzip, deflate, br) are
  // accepted; the limit applies to the inflated size.
  const json = (limit: string) => express.json({ limit, strict: true, type: ['application/json', 'application/*+json'], verify: verifyJsonBody });
  // A campaign list of 100,000 refs is a few MB; only that route accepts such a body, parsed off the event loop.
  // Its caller is authenticated before a byte of the body is read: an anonymous 8 MB body costs nothing but its 401.
  app.use('/v1/contacts/scrub', authenticatedBeforeBody(auth), express.raw({ limit: '8mb', type: ['application/json', 'application/*+json'] }), largeJsonBodies(runtime.closeables));
  // strict: only objects and arrays at the top level; a bare string or number is not a request body.
  app.use(json(config.bodyLimit));

  const rateLimitStores = (name: string) => new DatabaseRateLimitStore(runtime.db, `${name}:`);
  const env: RouteEnvironment = {
    policyVersion: () => loaded.version,
    authenticate: (token) => auth.authenticate(token),
    requireRole: (principal, roles) => auth.requireRole(principal, roles),
  };
  // Data-plane modules first, each entered only by requests on its own paths (guardedRouter).
  app.use(guardedRouter(policyRoutes({ loaded, env, registry })));
  app.use(guardedRouter(subjectRoutes({ subjects: runtime.subjects, env, registry })));
  app.use(guardedRouter(consentRoutes({ consent: runtime.consent, env, registry })));
  app.use(guardedRouter(contactRoutes({ contacts: runtime.contacts, env, registry })));
  app.use(guardedRouter(dncRoutes({ doNotCall: runtime.doNotCall, env, registry })));
  app.use(guardedRouter(auditRoutes({ log: runtime.auditLog, search: runtime.auditSearch, env, registry })));
  app.use(guardedRouter(requestRoutes({ requests: runtime.requests, env, registry, ratePerMinute: config.requests.ratePerMinute, rateLimitStores })));
  app.use(guardedRouter(notifierRoutes({ notifier: runtime.notifier, env, registry })));
  app.use(guardedRouter(peopleRoutes({ people: runtime.people, env, registry })));
  app.use(guardedRouter(adminRoutes({ auth, env, registry })));
  app.use(guardedRouter(importRoutes({ imports: runtime.imports, env, registry })));
  app.use(webRoutes());
  const purposes = Object.values(loaded.policy.purposes);
  const terms = {
    purpose: Object.keys(loaded.policy.purposes),
    channel: loaded.policy.channels,
    topic: [...new Set(purposes.flatMap((p) => p.topics))],
    recipient: [...new Set(purposes.flatMap((p) => p.recipients))],
  };
  app.use(opsRoutes({ db: runtime.db, metrics: runtime.metrics, registry, state: runtime.ops, publicUrl: config.publicUrl, policyVersion: loaded.version, version: CUSTOS_VERSION, terms }));
  app.use(
    authRoutes({
      auth,
      signingKey: runtime.signingKey,
      env,
      registry,
      tokenRateLimit: config.tokenRateLimitPerMinute,
      signInRateLimit: config.signInRateLimitPerMinute,
      bodyLimit: config.bodyLimit,
      rateLimitStores,
      publicUrl: config.publicUrl,
      scopes: terms.purpose,
    }),
  );

  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  return app;
}
