// A real OpenID Connect provider (panva/oidc-provider) for the officer OIDC tests.
// Runs in its own process because oidc-provider ships as ES modules only.
// Prints "READY <issuer>" once listening. Tokens are JWT access tokens signed with
// ES256 for the resource urn:custos, from the client credentials grant (API tests) or,
// when OIDC_TEST_REDIRECT_URI is set, from the authorization code grant with PKCE for
// the public client "custos-console" (console sign-in in a browser, through the
// provider's own login and consent pages: any login name, any password).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const audience = process.env.OIDC_TEST_AUDIENCE ?? 'custos-console';
const roles = { 'console-auditor': 'auditor', 'console-admin': 'admin', 'console-norole': undefined };
// Accounts that sign in interactively: the login name picks the role.
const accountRoles = { 'oidc-auditor': 'auditor', 'oidc-agent': 'privacy-agent', 'oidc-admin': 'admin' };
const redirectUri = process.env.OIDC_TEST_REDIRECT_URI;

const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
let handler = (_req, res) => res.writeHead(503).end();
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...jwk, kid: randomUUID(), alg: 'ES256', use: 'sig' }] },
    clients: [
      ...Object.keys(roles).map((client_id) => ({
        client_id,
        client_secret: `${client_id}-secret`,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'ES256',
      })),
      ...(redirectUri
        ? [
            {
              client_id: 'custos-console',
              grant_types: ['authorization_code'],
              response_types: ['code'],
              redirect_uris: [redirectUri],
              token_endpoint_auth_method: 'none',
              id_token_signed_response_alg: 'ES256',
            },
          ]
        : []),
    ],
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, preferred_username: id }) }),
    claims: { openid: ['sub'], profile: ['preferred_username'] },
    features: {
      devInteractions: { enabled: Boolean(redirectUri) },
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
      const name = token.accountId ?? token.clientId;
      const role = token.accountId ? accountRoles[token.accountId] : roles[token.clientId];
      return { preferred_username: name, ...(role ? { custos_role: role } : {}) };
    },
  });
  handler = provider.callback();
  process.stdout.write(`READY ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
