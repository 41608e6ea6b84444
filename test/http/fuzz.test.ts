import fc from 'fast-check';
import request from 'supertest';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { appToken, createTestApp, createTestOfficer, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

/**
 * Property: whatever a client sends to any route (path parameters, query
 * strings, bodies: well-shaped, wrongly typed, random, malformed, hostile
 * text), the answer is 2xx or a 4xx problem+json, never a 5xx or a stack
 * trace, and no value sent reaches a log line. Routes come from the OpenAPI
 * registry, so a new route joins by being mounted. FUZZ_RUNS raises the runs
 * per route (default 12).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const CANARY = 'Canary Fuzzington';

/** Text people and attackers send: ordinary, unicode, control characters, escapes, huge, and the canary. */
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', ' ', '\u0000', '\ud800', '%ff', '../..', '__proto__', 'constructor', '1e309', '-0', 'null', '{}', '[]', '+86 138 0013 8000', 'a@b.co', `ref_${'A'.repeat(22)}`, CANARY),
  fc.string({ maxLength: 5 }).map((s) => s.repeat(200)),
);
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(text, tie('value'), { maxKeys: 4 })),
})).value;

interface Shape {
  params: string[];
  query: string[];
  body: string[] | undefined;
  bodyType: string | undefined;
}

function shapeOf(route: RouteConfig): Shape {
  const keys = (schema: unknown): string[] => Object.keys((schema as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
  const content = route.request?.body?.content ?? {};
  const [bodyType, media] = Object.entries(content)[0] ?? [];
  return {
    params: [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
    query: keys(route.request?.query),
    body: media ? keys((media as { schema?: unknown }).schema) : undefined,
    bodyType,
  };
}

/** Percent-encoding as a client would send it; text JavaScript cannot encode (half a surrogate pair) goes as the bytes a careless client sends. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

/** A request for a route: its own keys with random values most of the time, random JSON or junk otherwise. */
function requestFor(shape: Shape) {
  const params = fc.tuple(...shape.params.map(() => text));
  const query = fc.record(Object.fromEntries([...shape.query, 'extra'].map((k) => [k, text])), { requiredKeys: [] });
  const body = shape.body
    ? fc.oneof(
        fc.record(Object.fromEntries(shape.body.map((k) => [k, jsonish])), { requiredKeys: [] }).map((b) => JSON.stringify(b)),
        jsonish.map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 40 }),
      )
    : fc.constant(undefined);
  return fc.record({ params: shape.params.length > 0 ? params : fc.constant([] as string[]), query, body });
}

describe('fuzzing every route', () => {
  let gateway: TestGateway;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    gateway = await startTestGateway({ REQUESTS_RATE_LIMIT_PER_MINUTE: '100000', TOKEN_RATE_LIMIT_PER_MINUTE: '100000', SIGN_IN_RATE_LIMIT_PER_MINUTE: '100000' });
    const admin = await createTestOfficer(gateway, 'admin');
    tokens = {
      appToken: await appToken(gateway, await createTestApp(gateway, ['marketing', 'support'], ['call', 'sms', 'email'])),
      officerToken: await officerToken(gateway, admin.username, admin.password),
    };
  });
  afterAll(() => gateway.close());

  it('answers every generated request with 2xx or a 4xx problem, never a 5xx, a stack trace or a logged value', async () => {
    const routes = gateway.runtime.registry.definitions.filter((d): d is { type: 'route'; route: RouteConfig } => d.type === 'route').map((d) => d.route);
    expect(routes.length).toBeGreaterThan(35);
    const seen = new Set<string>();
    for (const route of routes) {
      const shape = shapeOf(route);
      const security = Object.keys(route.security?.[0] ?? {})[0];
      await fc.assert(
        fc.asyncProperty(requestFor(shape), async ({ params, query, body }) => {
          let path = route.path;
          shape.params.forEach((name, i) => (path = path.replace(`{${name}}`, encode(params[i]!))));
          const search = Object.entries(query as Record<string, string>)
            .map(([k, v]) => `${encode(k)}=${encode(v)}`)
            .join('&');
          let call: request.Test = request(gateway.app)[route.method as 'get' | 'post' | 'put' | 'patch' | 'delete'](search ? `${path}?${search}` : path);
          if (security) call = call.set('Authorization', `Bearer ${tokens[security]}`);
          if (body !== undefined) call = call.set('Content-Type', shape.bodyType ?? 'application/json').send(body);
          const answer = await call;
          const label = `${route.method.toUpperCase()} ${route.path} → ${answer.status}`;
          seen.add(label.replace(/\d\d$/, 'xx'));
          if (answer.status >= 500) throw new Error(`${label}: ${answer.text.slice(0, 300)}`);
          if (answer.status >= 400) {
            // The token endpoint answers RFC 6749 errors as JSON; every other refusal is problem+json.
            const expected = route.path === '/oauth/token' && answer.headers['content-type']?.startsWith('application/json') ? 'application/json' : 'application/problem+json';
            if (!answer.headers['content-type']?.startsWith(expected)) throw new Error(`${label}: content-type ${answer.headers['content-type']}`);
          }
          if (/\bat \S+ \(|node_modules|\.ts:\d+/.test(answer.text)) throw new Error(`${label}: a stack trace in the answer`);
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
    }
    if (process.env.FUZZ_REPORT) console.log([...seen].sort().join('\n'));
    const logs = gateway.logs.join('\n');
    expect(logs).not.toContain(CANARY);
    expect(logs).not.toContain(encodeURIComponent(CANARY));
    // The fuzz got past the door: authenticated routes of both kinds of caller answered 2xx
    // (tokens were good), and generated input was refused with 4xx problems elsewhere.
    expect([...seen]).toEqual(expect.arrayContaining(['GET /v1/purposes → 2xx', 'GET /v1/admin/apps → 2xx', 'POST /v1/subjects → 4xx']));
  }, 300_000);
});
