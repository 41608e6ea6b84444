// A real OpenID Connect provider (panva/oidc-provider) for the officer OIDC tests.
// Runs in its own process because oidc-provider ships as ES modules only.
// Prints "READY <issuer>" once listening. Tokens come from the client credentials
// grant with a resource indicator, as JWT access tokens signed with ES256.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const audience = process.env.OIDC_TEST_AUDIENCE ?? 'custos-console';
const roles = { 'console-auditor': 'auditor', 'console-admin': 'admin', 'console-norole': undefined };

const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
let handler = (_req, res) => res.writeHead(503).end();
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...jwk, kid: randomUUID(), alg: 'ES256', use: 'sig' }] },
    clients: Object.keys(roles).map((client_id) => ({
      client_id,
      client_secret: `${client_id}-secret`,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
    })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:custos',
        getResourceServerInfo: (_ctx, resource) => ({
          scope: 'console',
          audience: resource === 'urn:custos' ? audience : 'some-other-api',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const role = roles[token.clientId];
      return { preferred_username: token.clientId, ...(role ? { custos_role: role } : {}) };
    },
  });
  handler = provider.callback();
  process.stdout.write(`READY ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
