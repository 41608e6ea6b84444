import { Forbidden, Unauthenticated } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { Auth } from './auth.ts';
import { peekClaims, sessionIdOf } from './authenticate.ts';
import type { OidcVerifier } from './oidc.ts';
import { verifySecret } from './passwords.ts';
import { signOfficerToken } from './tokens.ts';

export async function signInOfficer(a: Auth, ctx: RequestContext, username: string, password: string) {
  const { db, audit, signer, settings, store } = a;
  const officer = await store.findOfficerByUsername(db.read, username);
  const usable = officer && !officer.disabledAt ? officer : undefined;
  const ok = await verifySecret(usable?.passwordHash, password);
  // The attempted username is not recorded for unknown accounts: people type passwords into it.
  const actor = officer ? { type: 'officer' as const, id: officer.id } : { type: 'anonymous' as const };
  if (!usable || !ok) {
    return audit.refuse(
      { ...ctx, actor },
      { action: 'auth.officer.sign-in', reasons: [{ code: officer?.disabledAt ? 'disabled' : 'bad-credentials' }] },
      new Unauthenticated('unknown username or wrong password', 'none'),
    );
  }
  const token = await signOfficerToken(signer, usable.id, usable.role, settings.officerSessionTtlSeconds);
  await audit.record({ ...ctx, actor }, { action: 'auth.officer.sign-in', decision: 'allow', reasons: [{ code: 'password' }] });
  return { access_token: token, token_type: 'Bearer' as const, expires_in: settings.officerSessionTtlSeconds, role: usable.role };
}

/** The console's return from the provider: the code redeemed, the token verified, the sign-in audited like a password one. */
export async function signInWithProvider(a: Auth, ctx: RequestContext, input: { code: string; codeVerifier: string; redirectUri: string }) {
  const { oidc, audit, settings } = a;
  if (!oidc) throw new Unauthenticated('sign-in with an OpenID Connect provider is not configured');
  let redeemed: Awaited<ReturnType<OidcVerifier['redeem']>>;
  try {
    redeemed = await oidc.redeem(input);
  } catch (error) {
    if (!(error instanceof Unauthenticated || error instanceof Forbidden)) throw error;
    const code = error instanceof Forbidden ? 'no-role' : 'provider-refused';
    return audit.refuse({ ...ctx, actor: { type: 'anonymous' } }, { action: 'auth.officer.sign-in', reasons: [{ code }] }, error);
  }
  const actor = { type: 'officer' as const, id: redeemed.officer.id };
  await audit.record({ ...ctx, actor }, { action: 'auth.officer.sign-in', decision: 'allow', reasons: [{ code: 'oidc' }] });
  return { access_token: redeemed.accessToken, token_type: 'Bearer' as const, expires_in: redeemed.expiresIn ?? settings.officerSessionTtlSeconds, role: redeemed.officer.role };
}

/**
 * Ends the session of the token presented, on every replica (within
 * ACCOUNT_RECHECK_MS; at once on this one): its id is kept as revoked until
 * the token would have expired.
 */
export async function signOutOfficer(a: Auth, ctx: RequestContext, token: string): Promise<void> {
  const { db, verifyCustosToken, oidc, revoked, store } = a;
  const claims = peekClaims(token);
  let session: { id: string; officerId: string; expiresAt: Date };
  if (oidc && claims.iss === oidc.issuer) {
    const officer = await oidc.verify(token);
    session = { id: sessionIdOf(token), officerId: officer.id, expiresAt: new Date(typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + 86_400_000) };
  } else {
    const verified = await verifyCustosToken(token, claims.aud);
    if (verified.kind !== 'officer') throw new Unauthenticated('only an officer session can be ended here');
    session = { id: verified.jti, officerId: verified.officerId, expiresAt: new Date(verified.exp * 1000) };
  }
  const at = new Date();
  await db.transaction(async (tx) => {
    await store.revokeSession(tx, { jti: session.id, officerId: session.officerId, expiresAt: session.expiresAt, at });
    await appendAuditEvent(tx, { ...ctx, actor: { type: 'officer', id: session.officerId } }, { action: 'auth.officer.sign-out', decision: 'info' });
  });
  revoked.set(session.id, true, session.expiresAt.getTime());
}
