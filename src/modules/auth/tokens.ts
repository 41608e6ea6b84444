import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { SIGNING_ALGORITHM, type SigningKey } from '../../crypto/signing-key.ts';
import { Unauthenticated } from '../../shared/errors.ts';
import { officerRoleSchema, type OfficerRole } from './schema.ts';

export const APP_AUDIENCE = 'custos-api';
export const OFFICER_AUDIENCE = 'custos-console';
const ACCESS_TOKEN_TYPE = 'at+jwt'; // RFC 9068
const CLOCK_TOLERANCE_SECONDS = 5;

export interface TokenSigner {
  issuer: string;
  key: SigningKey;
}

export async function signAppToken(signer: TokenSigner, clientId: string, scope: string[], ttlSeconds: number): Promise<string> {
  return new SignJWT({ scope: scope.join(' '), client_id: clientId })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: signer.key.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(signer.issuer)
    .setAudience(APP_AUDIENCE)
    .setSubject(clientId)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(randomUUID())
    .sign(signer.key.privateKey);
}

export async function signOfficerToken(signer: TokenSigner, officerId: string, role: OfficerRole, ttlSeconds: number): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: signer.key.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(signer.issuer)
    .setAudience(OFFICER_AUDIENCE)
    .setSubject(officerId)
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(randomUUID())
    .sign(signer.key.privateKey);
}

/** Maps jose's typed errors to a message the caller can act on; never echoes token content. */
export function describeTokenError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token's "${error.claim}" claim is not valid (${error.reason})`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is not signed with an accepted algorithm';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'the token was signed with an unknown key';
  if (error instanceof joseErrors.JOSEError) return 'the token is malformed';
  return 'the token could not be verified';
}

async function verifyCustosToken(signer: TokenSigner, token: string, audience: string): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, signer.key.publicKey, {
      algorithms: [SIGNING_ALGORITHM],
      issuer: signer.issuer,
      audience,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return payload;
  } catch (error) {
    throw new Unauthenticated(describeTokenError(error));
  }
}

export async function verifyAppToken(signer: TokenSigner, token: string): Promise<{ clientId: string; scope: string[]; exp: number }> {
  const payload = await verifyCustosToken(signer, token, APP_AUDIENCE);
  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
  return { clientId: payload.sub!, scope, exp: payload.exp! };
}

export async function verifyOfficerToken(signer: TokenSigner, token: string): Promise<{ officerId: string; role: OfficerRole; exp: number; jti: string }> {
  const payload = await verifyCustosToken(signer, token, OFFICER_AUDIENCE);
  const role = officerRoleSchema.safeParse(payload.role);
  if (!role.success) throw new Unauthenticated('the token carries no valid role');
  return { officerId: payload.sub!, role: role.data, exp: payload.exp!, jti: payload.jti! };
}
