import { createHash } from 'node:crypto';
import { Forbidden, Unauthenticated } from '../../shared/errors.ts';
import type { Auth } from './auth.ts';
import type { OfficerRole, Principal } from './schema.ts';

/**
 * Resolves a bearer token to its principal. Besides the token itself, the
 * app's or officer's current record is checked (re-read at least every
 * ACCOUNT_RECHECK_MS), so a removed app or a narrowed grant stops working
 * even while its tokens are unexpired.
 */
export async function authenticate(a: Auth, token: string): Promise<Principal> {
  const { oidc, verifyCustosToken, currentOfficer, currentApp, isRevoked } = a;
  const claims = peekClaims(token);
  if (oidc && claims.iss === oidc.issuer) {
    const officer = await oidc.verify(token);
    if (await isRevoked(sessionIdOf(token))) throw new Unauthenticated(SIGNED_OUT);
    return { kind: 'officer', id: officer.id, username: officer.username, role: officer.role, via: 'oidc' };
  }
  const verified = await verifyCustosToken(token, claims.aud);
  if (verified.kind === 'officer') {
    if (await isRevoked(verified.jti)) throw new Unauthenticated(SIGNED_OUT);
    const officer = await currentOfficer(verified.officerId);
    if (!officer || officer.disabledAt) throw new Unauthenticated('the officer account no longer exists or is disabled');
    if (officer.role !== verified.role) throw new Unauthenticated("the officer's role has changed; sign in again");
    return { kind: 'officer', id: officer.id, username: officer.username, role: verified.role, via: 'password' };
  }
  const app = await currentApp(verified.clientId);
  if (!app || app.removedAt) throw new Unauthenticated('the client has been removed');
  return { kind: 'app', clientId: app.id, name: app.name, purposes: verified.scope.filter((p) => app.purposes.includes(p)), reveal: app.reveal };
}

export function requireRole(principal: Principal, roles: readonly OfficerRole[]): void {
  if (principal.kind !== 'officer' || !roles.includes(principal.role)) throw new Forbidden(`this route needs an officer with role ${roles.join(' or ')}`);
}

const SIGNED_OUT = 'this session has ended (signed out); sign in again';

/**
 * The id a session is ended by: a Custos token's `jti`; for a provider's
 * token (which need not carry one) the SHA-256 of the token itself.
 */
export function sessionIdOf(token: string, jti?: string): string {
  return jti ?? `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

/** Reads `iss`, `aud` and `exp` without trusting them, only to pick which verifier to use (or for how long to keep a revocation). */
export function peekClaims(token: string): { iss?: unknown; aud?: unknown; exp?: unknown } {
  const payload = token.split('.')[1];
  if (!payload) throw new Unauthenticated('the token is malformed');
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as { iss?: unknown; aud?: unknown; exp?: unknown }) : {};
  } catch {
    throw new Unauthenticated('the token is malformed');
  }
}
