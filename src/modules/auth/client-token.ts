import { OAuthError } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { CLIENT_ID_PATTERN, type Auth } from './auth.ts';
import { verifySecret } from './passwords.ts';
import { signAppToken } from './tokens.ts';

/** RFC 6749 section 4.4 client credentials grant. Every answer, issued or refused, is audited. */
export async function issueClientToken(a: Auth, ctx: RequestContext, request: { grantType?: string; clientId?: string; clientSecret?: string; scope?: string }) {
  const { db, policy, audit, signer, settings, store } = a;
  const knownFormat = request.clientId !== undefined && CLIENT_ID_PATTERN.test(request.clientId);
  const refuse = async (error: OAuthError, actorId?: string): Promise<never> => {
    const actor = actorId ? { type: 'app' as const, id: actorId } : { type: 'anonymous' as const };
    return audit.refuse({ ...ctx, actor }, { action: 'auth.token.refuse', reasons: [{ code: error.error, detail: error.description }] }, error);
  };
  if (!request.grantType) return refuse(new OAuthError('invalid_request', 'grant_type is required'));
  if (request.grantType !== 'client_credentials') return refuse(new OAuthError('unsupported_grant_type', 'only client_credentials is supported'));
  if (!request.clientId || !request.clientSecret) return refuse(new OAuthError('invalid_client', 'client authentication failed'));

  const app = knownFormat ? await store.findApp(db.read, request.clientId) : undefined;
  const secretOk = await verifySecret(app && !app.removedAt ? app.secretHash : undefined, request.clientSecret);
  if (!app || app.removedAt || !secretOk) return refuse(new OAuthError('invalid_client', 'client authentication failed'), app?.id);

  const requested = request.scope === undefined ? undefined : request.scope.split(' ').filter(Boolean);
  const granted = app.purposes.filter((p) => policy.purposes[p]);
  const outside = (requested ?? []).filter((p) => !granted.includes(p));
  if (outside.length > 0) return refuse(new OAuthError('invalid_scope', `not granted to this client: ${outside.join(' ')}`), app.id);
  const scope = requested && requested.length > 0 ? [...new Set(requested)] : granted;
  if (scope.length === 0) return refuse(new OAuthError('invalid_scope', 'the client has no purpose that the current policy defines'), app.id);

  const accessToken = await signAppToken(signer, app.id, scope, settings.accessTokenTtlSeconds);
  await audit.record({ ...ctx, actor: { type: 'app', id: app.id } }, { action: 'auth.token.issue', decision: 'allow', reasons: [{ code: 'scope', detail: scope.join(' ') }] });
  return { access_token: accessToken, token_type: 'Bearer' as const, expires_in: settings.accessTokenTtlSeconds, scope: scope.join(' ') };
}
