import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { Forbidden, Unauthenticated, Unavailable } from '../../shared/errors.ts';
import { officerRoleSchema, type OfficerRole } from './schema.ts';
import { describeTokenError } from './tokens.ts';

// Asymmetric algorithms only: an HMAC-signed token could be forged by anyone who has the provider's public key.
const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.url() });

export interface OidcOfficer {
  subject: string;
  username: string | null;
  role: OfficerRole;
}

/**
 * Verifies officer tokens from the organisation's OpenID Connect provider
 * against its published keys; the role comes from a configurable claim.
 */
export class OidcVerifier {
  #jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly settings: NonNullable<Config['oidc']>) {}

  get issuer(): string {
    return this.settings.issuer;
  }

  #keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.#jwks ??= this.#discover().catch((error: unknown) => {
      this.#jwks = undefined; // try discovery again on the next request
      throw error;
    });
    return this.#jwks;
  }

  async #discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.settings.jwksUri) return createRemoteJWKSet(new URL(this.settings.jwksUri));
    const url = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let metadata: unknown;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      metadata = await response.json();
    } catch (error) {
      throw new Unavailable('the OpenID Connect provider cannot be reached', { cause: error });
    }
    const parsed = discoverySchema.safeParse(metadata);
    if (!parsed.success || parsed.data.issuer !== this.settings.issuer) {
      throw new Unavailable('the OpenID Connect provider metadata does not match OIDC_ISSUER');
    }
    return createRemoteJWKSet(new URL(parsed.data.jwks_uri));
  }

  async verify(token: string): Promise<OidcOfficer> {
    const jwks = await this.#keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: OIDC_ALGORITHMS,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 5,
      }));
    } catch (error) {
      throw new Unauthenticated(describeTokenError(error));
    }
    const claim = payload[this.settings.roleClaim];
    const candidates = Array.isArray(claim) ? claim : [claim];
    const role = candidates.map((c) => officerRoleSchema.safeParse(c)).find((r) => r.success)?.data;
    if (!role) throw new Forbidden(`the identity provider's token carries no Custos role in the "${this.settings.roleClaim}" claim`);
    const username = typeof payload.preferred_username === 'string' ? payload.preferred_username : null;
    return { subject: payload.sub!, username, role };
  }
}
