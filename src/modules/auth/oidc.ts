import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { Forbidden, Unauthenticated, Unavailable, ValidationError } from '../../shared/errors.ts';
import { officerRoleSchema, type OfficerRole, type OidcSignIn } from './schema.ts';
import { describeTokenError } from './tokens.ts';

// Asymmetric algorithms only: an HMAC-signed token could be forged by anyone who has the provider's public key.
const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.url(), authorization_endpoint: z.url().optional(), token_endpoint: z.url().optional() });
const tokenAnswerSchema = z.object({ access_token: z.string(), expires_in: z.number().optional() });

export interface OidcOfficer {
  /** `oidc:<sub>`: how the trail and the API name an officer from the provider. */
  id: string;
  username: string | null;
  role: OfficerRole;
}

type Provider = { jwks: ReturnType<typeof createRemoteJWKSet>; authorizationEndpoint?: string; tokenEndpoint?: string };

/**
 * Verifies officer tokens from the organisation's OpenID Connect provider
 * against its published keys; the role comes from a configurable claim. With
 * a console client configured, it also redeems the console's authorization
 * codes (RFC 6749 section 4.1 with PKCE, RFC 7636) for the provider's tokens.
 */
export class OidcVerifier {
  #provider: Promise<Provider> | undefined;

  constructor(private readonly settings: NonNullable<Config['oidc']>) {}

  get issuer(): string {
    return this.settings.issuer;
  }

  #discovered(): Promise<Provider> {
    this.#provider ??= this.#discover().catch((error: unknown) => {
      this.#provider = undefined; // try discovery again on the next request
      throw error;
    });
    return this.#provider;
  }

  async #discover(): Promise<Provider> {
    if (this.settings.jwksUri && !this.settings.console) return { jwks: createRemoteJWKSet(new URL(this.settings.jwksUri)) };
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
    return {
      jwks: createRemoteJWKSet(new URL(this.settings.jwksUri ?? parsed.data.jwks_uri)),
      authorizationEndpoint: parsed.data.authorization_endpoint,
      tokenEndpoint: parsed.data.token_endpoint,
    };
  }

  /** Undefined when no console client is configured. */
  async signIn(): Promise<OidcSignIn | undefined> {
    const client = this.settings.console;
    if (!client) return undefined;
    const { authorizationEndpoint } = await this.#discovered();
    if (!authorizationEndpoint) throw new Unavailable('the OpenID Connect provider publishes no authorization endpoint');
    return { issuer: this.settings.issuer, authorizationEndpoint, clientId: client.clientId, scope: client.scope, resource: client.resource ?? null };
  }

  /**
   * Redeems an authorization code at the provider's token endpoint and
   * verifies the access token it returns like any officer token. The browser
   * keeps the PKCE verifier; Custos holds the client secret, if there is one.
   */
  async redeem(input: { code: string; codeVerifier: string; redirectUri: string }): Promise<{ accessToken: string; expiresIn: number | undefined; officer: OidcOfficer }> {
    const client = this.settings.console;
    // Only the console's own address: a code redeemed for another redirect (a page an attacker controls, where a
    // provider that does not pin its redirects sent the code) is refused before the provider sees it.
    if (client && input.redirectUri !== client.redirectUri) {
      throw new ValidationError([{ path: 'redirectUri', message: `must be the console's address, ${client.redirectUri} (CUSTOS_PUBLIC_URL + /console)` }]);
    }
    const { tokenEndpoint } = await this.#discovered();
    if (!client || !tokenEndpoint) throw new Unauthenticated('sign-in with the OpenID Connect provider is not configured');
    const form = new URLSearchParams({ grant_type: 'authorization_code', code: input.code, code_verifier: input.codeVerifier, redirect_uri: input.redirectUri, client_id: client.clientId });
    if (client.clientSecret) form.set('client_secret', client.clientSecret);
    if (client.resource) form.set('resource', client.resource);
    let answer: Response;
    try {
      answer = await fetch(tokenEndpoint, { method: 'POST', body: form, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new Unavailable('the OpenID Connect provider cannot be reached', { cause: error });
    }
    const body = (await answer.json().catch(() => undefined)) as { error?: unknown; error_description?: unknown } | undefined;
    // RFC 6749 section 5.2: a used, expired or forged code is invalid_grant; say so, not more.
    if (!answer.ok) throw new Unauthenticated(`the provider refused the sign-in (${typeof body?.error === 'string' ? body.error : `HTTP ${answer.status}`}); sign in again`);
    const tokens = tokenAnswerSchema.safeParse(body);
    if (!tokens.success) throw new Unavailable('the OpenID Connect provider answered without an access token');
    return { accessToken: tokens.data.access_token, expiresIn: tokens.data.expires_in, officer: await this.verify(tokens.data.access_token) };
  }

  async verify(token: string): Promise<OidcOfficer> {
    const { jwks } = await this.#discovered();
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
    return { id: `oidc:${payload.sub!}`, username, role };
  }
}
