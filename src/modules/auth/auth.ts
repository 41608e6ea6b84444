import { randomBytes } from 'node:crypto';
import type { SigningKey } from '../../crypto/signing-key.ts';
import { ValidationError } from '../../shared/errors.ts';
import { ExpiringCache } from '../../shared/expiring-cache.ts';
import type { Database } from '../../storage/database.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { Policy } from '../policies/schema.ts';
import type { OidcVerifier } from './oidc.ts';
import type { OfficerRole } from './schema.ts';
import * as store from './store.ts';
import { OFFICER_AUDIENCE, verifyAppToken, verifyOfficerToken, type TokenSigner } from './tokens.ts';

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
  /** Apps, officers and ended sessions; the SQL store unless a test hands an in-memory one. */
  store?: store.AuthStore;
}

export interface CreatedApp {
  clientId: string;
  clientSecret: string;
  name: string;
  purposes: string[];
  reveal: string[];
}

export const CLIENT_ID_PATTERN = /^app_[a-z0-9]{20}$/;

export function newClientId(): string {
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

export type VerifiedToken = { kind: 'app'; clientId: string; scope: string[] } | { kind: 'officer'; officerId: string; role: OfficerRole; jti: string; exp: number };

/**
 * What the auth operations share (one a file: apps.ts, client-token.ts,
 * officers.ts, sign-in.ts, authenticate.ts): their dependencies, the token
 * signer, and the caches of verified tokens and account records.
 */
export interface Auth extends AuthServiceDeps {
  store: store.AuthStore;
  signer: TokenSigner;
  /** A token's signature and claims never change, so a verified token is remembered until it expires (apps reuse one token for its whole lifetime). */
  verifiedTokens: ExpiringCache<VerifiedToken>;
  apps: ExpiringCache<store.AppRecord | null>;
  officers: ExpiringCache<store.OfficerRecord | null>;
  /** Sessions known to be ended or not, by session id, for ACCOUNT_RECHECK_MS. */
  revoked: ExpiringCache<boolean>;
  isRevoked(sessionId: string): Promise<boolean>;
  verifyCustosToken(token: string, audience: unknown): Promise<VerifiedToken>;
  currentApp(clientId: string): Promise<store.AppRecord | undefined>;
  currentOfficer(officerId: string): Promise<store.OfficerRecord | undefined>;
  checkGrants(purposes: string[], reveal: string[]): void;
}

export function createAuth(deps: AuthServiceDeps): Auth {
  const { db, policy, settings } = deps;
  const accounts: store.AuthStore = deps.store ?? store;
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
      verified = { kind: 'officer', officerId: claims.officerId, role: claims.role, jti: claims.jti, exp: claims.exp };
      exp = claims.exp;
    } else {
      const claims = await verifyAppToken(signer, token);
      verified = { kind: 'app', clientId: claims.clientId, scope: claims.scope };
      exp = claims.exp;
    }
    verifiedTokens.set(token, verified, exp * 1000);
    return verified;
  }

  /** What the database says of `key`, as this replica last read it: re-read at least every ACCOUNT_RECHECK_MS. */
  async function rechecked<V>(cache: ExpiringCache<V>, key: string, read: () => Promise<V>): Promise<V> {
    let known = cache.get(key);
    if (known === undefined) {
      known = await read();
      cache.set(key, known, Date.now() + ACCOUNT_RECHECK_MS);
    }
    return known;
  }
  const currentApp = async (clientId: string) => (await rechecked(apps, clientId, async () => (await accounts.findApp(db.read, clientId)) ?? null)) ?? undefined;
  const currentOfficer = async (officerId: string) => (await rechecked(officers, officerId, async () => (await accounts.findOfficer(db.read, officerId)) ?? null)) ?? undefined;
  const revoked = new ExpiringCache<boolean>(VERIFIED_TOKEN_CACHE_SIZE);
  /** Whether a session was ended (signed out): a sign-out holds on every replica within ACCOUNT_RECHECK_MS. */
  const isRevoked = (sessionId: string) => rechecked(revoked, sessionId, () => accounts.isSessionRevoked(db.read, sessionId));

  function checkGrants(purposes: string[], reveal: string[]): void {
    const problems = [
      ...(purposes.length === 0 ? [{ path: 'purposes', message: 'name at least one purpose' }] : []),
      ...purposes.filter((p) => !policy.purposes[p]).map((p) => ({ path: 'purposes', message: `unknown purpose "${p}"; the policy has ${Object.keys(policy.purposes).join(', ')}` })),
      ...reveal.filter((c) => !policy.channels.includes(c)).map((c) => ({ path: 'reveal', message: `unknown channel "${c}"` })),
    ];
    if (problems.length > 0) throw new ValidationError(problems);
  }

  return { ...deps, store: accounts, signer, verifiedTokens, apps, officers, revoked, verifyCustosToken, currentApp, currentOfficer, isRevoked, checkGrants };
}
