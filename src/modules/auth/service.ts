import { randomBytes } from 'node:crypto';
import type { SigningKey } from '../../crypto/signing-key.ts';
import { Conflict, Forbidden, OAuthError, Unauthenticated, ValidationError } from '../../shared/errors.ts';
import { ExpiringCache } from '../../shared/expiring-cache.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { Policy } from '../policies/schema.ts';
import type { OidcVerifier } from './oidc.ts';
import { hashSecret, verifySecret } from './passwords.ts';
import { officerRoleSchema, passwordSchema, usernameSchema, type CreatedOfficer, type OfficerRole, type Principal } from './schema.ts';
import * as store from './store.ts';
import { OFFICER_AUDIENCE, signAppToken, signOfficerToken, verifyAppToken, verifyOfficerToken, type TokenSigner } from './tokens.ts';

export interface AuthSettings {
  issuer: string;
  signingKey: SigningKey;
  accessTokenTtlSeconds: number;
  officerSessionTtlSeconds: number;
}

export interface AuthServiceDeps {
  db: Database;
  policy: Policy;
  settings: AuthSettings;
  oidc: OidcVerifier | undefined;
  /** Events of accesses that write nothing else (tokens, sign-ins), committed in groups. */
  audit: AuditGroupCommit;
}

export interface CreatedApp {
  clientId: string;
  clientSecret: string;
  name: string;
  purposes: string[];
  reveal: string[];
}

const CLIENT_ID_PATTERN = /^app_[a-z0-9]{20}$/;

function newClientId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `app_${Array.from(randomBytes(20), (b) => alphabet[b % alphabet.length]).join('')}`;
}

/**
 * How long a replica may keep using an app or officer record it has read.
 * Removal is immediate on the replica that performs it and reaches the others
 * within this bound; without it, every request would pay a database read.
 */
export const ACCOUNT_RECHECK_MS = 1000;
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

type VerifiedToken = { kind: 'app'; clientId: string; scope: string[] } | { kind: 'officer'; officerId: string; role: OfficerRole };

export function createAuthService(deps: AuthServiceDeps) {
  const { db, policy, settings, oidc, audit } = deps;
  const signer: TokenSigner = { issuer: settings.issuer, key: settings.signingKey };
  // A token's signature and claims never change, so a verified token is remembered until it
  // expires (apps reuse one token for its whole lifetime). Expiry is still enforced by the cache.
  const verifiedTokens = new ExpiringCache<VerifiedToken>(VERIFIED_TOKEN_CACHE_SIZE);
  const apps = new ExpiringCache<store.AppRecord | null>(VERIFIED_TOKEN_CACHE_SIZE);
  const officers = new ExpiringCache<store.OfficerRecord | null>(VERIFIED_TOKEN_CACHE_SIZE);

  async function verifyCustosToken(token: string, audience: unknown): Promise<VerifiedToken> {
    const cached = verifiedTokens.get(token);
    if (cached) return cached;
    let verified: VerifiedToken;
    let exp: number;
    if (audience === OFFICER_AUDIENCE) {
      const claims = await verifyOfficerToken(signer, token);
      verified = { kind: 'officer', officerId: claims.officerId, role: claims.role };
      exp = claims.exp;
    } else {
      const claims = await verifyAppToken(signer, token);
      verified = { kind: 'app', clientId: claims.clientId, scope: claims.scope };
      exp = claims.exp;
    }
    verifiedTokens.set(token, verified, exp * 1000);
    return verified;
  }

  async function currentApp(clientId: string): Promise<store.AppRecord | undefined> {
    let app = apps.get(clientId);
    if (app === undefined) {
      app = (await store.findApp(db.read, clientId)) ?? null;
      apps.set(clientId, app, Date.now() + ACCOUNT_RECHECK_MS);
    }
    return app ?? undefined;
  }

  async function currentOfficer(officerId: string): Promise<store.OfficerRecord | undefined> {
    let officer = officers.get(officerId);
    if (officer === undefined) {
      officer = (await store.findOfficer(db.read, officerId)) ?? null;
      officers.set(officerId, officer, Date.now() + ACCOUNT_RECHECK_MS);
    }
    return officer ?? undefined;
  }

  function checkGrants(purposes: string[], reveal: string[]): void {
    const problems = [
      ...(purposes.length === 0 ? [{ path: 'purposes', message: 'name at least one purpose' }] : []),
      ...purposes.filter((p) => !policy.purposes[p]).map((p) => ({ path: 'purposes', message: `unknown purpose "${p}"; the policy has ${Object.keys(policy.purposes).join(', ')}` })),
      ...reveal.filter((c) => !policy.channels.includes(c)).map((c) => ({ path: 'reveal', message: `unknown channel "${c}"` })),
    ];
    if (problems.length > 0) throw new ValidationError(problems);
  }

  return {
    async createApp(ctx: RequestContext, input: { name: string; purposes: string[]; reveal: string[] }): Promise<CreatedApp> {
      const purposes = [...new Set(input.purposes)];
      const reveal = [...new Set(input.reveal)];
      checkGrants(purposes, reveal);
      const clientId = newClientId();
      const clientSecret = `cs_${randomBytes(32).toString('base64url')}`;
      const secretHash = await hashSecret(clientSecret);
      await db.transaction(async (tx) => {
        await store.insertApp(tx, { id: clientId, name: input.name, secretHash, purposes, reveal, createdAt: new Date(), removedAt: null });
        await appendAuditEvent(tx, ctx, { action: 'auth.app.create', decision: 'info', reasons: [{ code: 'granted-purposes', detail: purposes.join(',') }] });
      });
      return { clientId, clientSecret, name: input.name, purposes, reveal };
    },

    async removeApp(ctx: RequestContext, clientId: string): Promise<boolean> {
      return db
        .transaction(async (tx) => {
          const removed = await store.markAppRemoved(tx, clientId, new Date());
          if (removed) await appendAuditEvent(tx, ctx, { action: 'auth.app.remove', decision: 'info', reasons: [{ code: 'client', detail: clientId }] });
          return removed;
        })
        .finally(() => apps.delete(clientId));
    },

    listApps: async () => (await store.listApps(db.read)).map(store.appView),

    /** RFC 6749 section 4.4 client credentials grant. Every answer, issued or refused, is audited. */
    async issueClientToken(ctx: RequestContext, request: { grantType?: string; clientId?: string; clientSecret?: string; scope?: string }) {
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
    },

    /** Without a password, one is generated and returned once (Custos keeps only its hash). */
    async createOfficer(ctx: RequestContext, input: { username: string; role: OfficerRole; password?: string }): Promise<CreatedOfficer> {
      const password = input.password ?? randomBytes(18).toString('base64url');
      const problems = [
        ...(usernameSchema.safeParse(input.username).error?.issues.map((i) => ({ path: 'username', message: i.message })) ?? []),
        ...(officerRoleSchema.safeParse(input.role).error?.issues.map((i) => ({ path: 'role', message: i.message })) ?? []),
        ...(passwordSchema.safeParse(password).error?.issues.map((i) => ({ path: 'password', message: i.message })) ?? []),
      ];
      if (problems.length > 0) throw new ValidationError(problems);
      const id = `off_${randomBytes(10).toString('hex')}`;
      const passwordHash = await hashSecret(password);
      await db.transaction(async (tx) => {
        if (!(await store.insertOfficer(tx, { id, username: input.username, role: input.role, passwordHash, createdAt: new Date(), disabledAt: null }))) {
          throw new Conflict(`an officer named ${input.username} already exists`);
        }
        await appendAuditEvent(tx, ctx, { action: 'auth.officer.create', decision: 'info', reasons: [{ code: 'role', detail: `${id} ${input.role}` }] });
      });
      return { id, username: input.username, role: input.role, ...(input.password === undefined ? { password } : {}) };
    },

    listOfficers: async () => (await store.listOfficers(db.read)).map(store.officerView),

    /**
     * Disables an officer (the record stays: the trail names officers by id).
     * Their sessions stop working within ACCOUNT_RECHECK_MS on every replica.
     * Officers cannot remove themselves, so the last admin cannot lock everyone out by accident.
     */
    async removeOfficer(ctx: RequestContext, officerId: string): Promise<boolean> {
      if (ctx.actor.type === 'officer' && ctx.actor.id === officerId) throw new Conflict('you cannot remove your own account; ask another admin');
      return db
        .transaction(async (tx) => {
          const removed = await store.markOfficerDisabled(tx, officerId, new Date());
          if (removed) await appendAuditEvent(tx, ctx, { action: 'auth.officer.remove', decision: 'info', reasons: [{ code: 'officer', detail: officerId }] });
          return removed;
        })
        .finally(() => officers.delete(officerId));
    },

    async signInOfficer(ctx: RequestContext, username: string, password: string) {
      const officer = await store.findOfficerByUsername(db.read, username);
      const usable = officer && !officer.disabledAt ? officer : undefined;
      const ok = await verifySecret(usable?.passwordHash, password);
      // The attempted username is not recorded for unknown accounts: people type passwords into it.
      const actor = officer ? { type: 'officer' as const, id: officer.id } : { type: 'anonymous' as const };
      if (!usable || !ok) {
        return audit.refuse(
          { ...ctx, actor },
          { action: 'auth.officer.sign-in', reasons: [{ code: officer?.disabledAt ? 'disabled' : 'bad-credentials' }] },
          new Unauthenticated('unknown username or wrong password', 'invalid_grant'),
        );
      }
      const token = await signOfficerToken(signer, usable.id, usable.role, settings.officerSessionTtlSeconds);
      await audit.record({ ...ctx, actor }, { action: 'auth.officer.sign-in', decision: 'allow', reasons: [{ code: 'password' }] });
      return { access_token: token, token_type: 'Bearer' as const, expires_in: settings.officerSessionTtlSeconds, role: usable.role };
    },

    /** How the console sends officers to the organisation's provider, if it may. */
    oidcSignIn: async () => (oidc ? oidc.signIn() : undefined),

    /** The console's return from the provider: the code redeemed, the token verified, the sign-in audited like a password one. */
    async signInWithProvider(ctx: RequestContext, input: { code: string; codeVerifier: string; redirectUri: string }) {
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
    },

    /**
     * Resolves a bearer token to its principal. Besides the token itself, the
     * app's or officer's current record is checked (re-read at least every
     * ACCOUNT_RECHECK_MS), so a removed app or a narrowed grant stops working
     * even while its tokens are unexpired.
     */
    async authenticate(token: string): Promise<Principal> {
      const claims = peekClaims(token);
      if (oidc && claims.iss === oidc.issuer) {
        const officer = await oidc.verify(token);
        return { kind: 'officer', id: officer.id, username: officer.username, role: officer.role, via: 'oidc' };
      }
      const verified = await verifyCustosToken(token, claims.aud);
      if (verified.kind === 'officer') {
        const officer = await currentOfficer(verified.officerId);
        if (!officer || officer.disabledAt) throw new Unauthenticated('the officer account no longer exists or is disabled');
        if (officer.role !== verified.role) throw new Unauthenticated("the officer's role has changed; sign in again");
        return { kind: 'officer', id: officer.id, username: officer.username, role: verified.role, via: 'password' };
      }
      const app = await currentApp(verified.clientId);
      if (!app || app.removedAt) throw new Unauthenticated('the client has been removed');
      return { kind: 'app', clientId: app.id, name: app.name, purposes: verified.scope.filter((p) => app.purposes.includes(p)), reveal: app.reveal };
    },

    /** The id of an officer named by username or id ('oidc:<sub>' ids pass through); for audit filters. */
    async officerIdOf(usernameOrId: string): Promise<string | undefined> {
      if (usernameOrId.startsWith('oidc:')) return usernameOrId;
      const byName = await store.findOfficerByUsername(db.read, usernameOrId);
      if (byName) return byName.id;
      return (await store.findOfficer(db.read, usernameOrId))?.id;
    },

    requireRole(principal: Principal, roles: readonly OfficerRole[]): void {
      if (principal.kind !== 'officer' || !roles.includes(principal.role)) throw new Forbidden(`this route needs an officer with role ${roles.join(' or ')}`);
    },
  };
}

/** Reads `iss` and `aud` without trusting them, only to pick which verifier to use. */
function peekClaims(token: string): { iss?: unknown; aud?: unknown } {
  const payload = token.split('.')[1];
  if (!payload) throw new Unauthenticated('the token is malformed');
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as { iss?: unknown; aud?: unknown }) : {};
  } catch {
    throw new Unauthenticated('the token is malformed');
  }
}

export type AuthService = ReturnType<typeof createAuthService>;
