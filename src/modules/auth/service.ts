import type { RequestContext } from '../../shared/request-context.ts';
import { createApp, removeApp } from './apps.ts';
import { createAuth, type AuthServiceDeps } from './auth.ts';
import { authenticate, requireRole } from './authenticate.ts';
import { issueClientToken } from './client-token.ts';
import { createOfficer, officerIdOf, removeOfficer } from './officers.ts';
import type { OfficerRole } from './schema.ts';
import { signInOfficer, signInWithProvider, signOutOfficer } from './sign-in.ts';
import { appView, officerView } from './store.ts';

export { ACCOUNT_RECHECK_MS, type AuthServiceDeps, type AuthSettings, type CreatedApp } from './auth.ts';

/** Apps, officers, tokens and sign-in, one operation a file, wired here. */
export function createAuthService(deps: AuthServiceDeps) {
  const a = createAuth(deps);
  const { db, oidc } = deps;
  return {
    createApp: (ctx: RequestContext, input: { name: string; purposes: string[]; reveal: string[] }) => createApp(a, ctx, input),
    removeApp: (ctx: RequestContext, clientId: string) => removeApp(a, ctx, clientId),
    listApps: async () => (await a.store.listApps(db.read)).map(appView),
    /** An app in service (not removed), as another module acts for it (an import writes as the app it names). */
    activeApp: async (clientId: string) => {
      const app = await a.store.findApp(db.read, clientId);
      return app && !app.removedAt ? appView(app) : undefined;
    },
    /** RFC 6749 section 4.4 client credentials grant. Every answer, issued or refused, is audited. */
    issueClientToken: (ctx: RequestContext, request: { grantType?: string; clientId?: string; clientSecret?: string; scope?: string }) => issueClientToken(a, ctx, request),
    createOfficer: (ctx: RequestContext, input: { username: string; role: OfficerRole; password?: string }) => createOfficer(a, ctx, input),
    listOfficers: async () => (await a.store.listOfficers(db.read)).map(officerView),
    removeOfficer: (ctx: RequestContext, officerId: string) => removeOfficer(a, ctx, officerId),
    signInOfficer: (ctx: RequestContext, username: string, password: string) => signInOfficer(a, ctx, username, password),
    /** How the console sends officers to the organisation's provider, if it may. */
    oidcSignIn: async () => (oidc ? oidc.signIn() : undefined),
    signInWithProvider: (ctx: RequestContext, input: { code: string; codeVerifier: string; redirectUri: string }) => signInWithProvider(a, ctx, input),
    signOutOfficer: (ctx: RequestContext, token: string) => signOutOfficer(a, ctx, token),
    authenticate: (token: string) => authenticate(a, token),
    officerIdOf: (usernameOrId: string) => officerIdOf(a, usernameOrId),
    requireRole,
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
