import { randomBytes } from 'node:crypto';
import path from 'node:path';
// The schemas register their OpenAPI descriptions as they load: zod needs the extension first, as in the app.
import '../../src/http/openapi.ts';
import { deriveSigningKey } from '../../src/crypto/signing-key.ts';
import type { AuditGroupCommit } from '../../src/modules/audit/group-commit.ts';
import type { AuditEventInput } from '../../src/modules/audit/schema.ts';
import { ACCOUNT_RECHECK_MS, createAuthService } from '../../src/modules/auth/service.ts';
import { loadPolicy } from '../../src/modules/policies/load.ts';
import type { RequestContext } from '../../src/shared/request-context.ts';
import { whenClockIsLater } from '../support/clock.ts';
import { createFakeAuthStore } from '../support/fakes/fake-auth-store.ts';
import { createFakeDatabase } from '../support/fakes/fake-database.ts';

/**
 * Apps, officers, tokens and sessions on in-memory fakes (no database, no
 * HTTP): issuing and refusing tokens, removal and sign-out taking effect at
 * once here and within the recheck bound on another replica.
 */
describe('auth on fakes', () => {
  const { policy } = loadPolicy(path.join(__dirname, '..', '..', 'policies'));
  const ctx: RequestContext = { actor: { type: 'system', id: 'test' }, requestId: 'req-test', policyVersion: 'test' };

  async function replicas() {
    const store = createFakeAuthStore();
    const db = createFakeDatabase([store]);
    const refused: AuditEventInput[] = [];
    const audit = {
      record: async () => undefined,
      refuse: async (_c: RequestContext, event: Omit<AuditEventInput, 'decision'>, error: Error) => {
        refused.push({ ...event, decision: 'deny' });
        throw error;
      },
    } as unknown as AuditGroupCommit;
    const signingKey = await deriveSigningKey(randomBytes(32));
    const settings = { issuer: 'http://custos.test', signingKey, accessTokenTtlSeconds: 900, officerSessionTtlSeconds: 3600 };
    // Two replicas: one store, caches of their own.
    const make = () => createAuthService({ db, policy, settings, oidc: undefined, audit, store });
    return { one: make(), two: make(), store, refused };
  }

  it('issues a token for the right secret only, narrowed to the purposes asked, and stops it at once when the app is removed', async () => {
    const { one, two, refused } = await replicas();
    const app = await one.createApp(ctx, { name: 'Dialer', purposes: ['marketing', 'support'], reveal: ['call'] });
    await expect(one.issueClientToken(ctx, { grantType: 'client_credentials', clientId: app.clientId, clientSecret: 'cs_wrong' })).rejects.toMatchObject({ error: 'invalid_client' });
    await expect(one.issueClientToken(ctx, { grantType: 'client_credentials', clientId: app.clientId, clientSecret: app.clientSecret, scope: 'analytics' })).rejects.toMatchObject({
      error: 'invalid_scope',
    });
    expect(refused.map((e) => e.reasons?.[0]?.code)).toEqual(['invalid_client', 'invalid_scope']);
    const issued = await one.issueClientToken(ctx, { grantType: 'client_credentials', clientId: app.clientId, clientSecret: app.clientSecret, scope: 'support' });
    expect(await one.authenticate(issued.access_token)).toMatchObject({ kind: 'app', clientId: app.clientId, purposes: ['support'] });
    expect(await two.authenticate(issued.access_token)).toMatchObject({ kind: 'app' });
    expect(await one.removeApp(ctx, app.clientId)).toBe(true);
    expect(await one.removeApp(ctx, app.clientId)).toBe(false);
    await expect(one.authenticate(issued.access_token)).rejects.toMatchObject({ status: 401 });
    // The other replica read the app a moment ago; past the recheck bound it refuses too.
    await expect(whenClockIsLater(ACCOUNT_RECHECK_MS + 1, () => two.authenticate(issued.access_token))).rejects.toMatchObject({ status: 401 });
  });

  it('signs an officer in with their password, refuses a duplicate name, ends a signed-out session everywhere', async () => {
    const { one, two } = await replicas();
    const officer = await one.createOfficer(ctx, { username: 'alice', role: 'auditor' });
    expect(officer.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await expect(one.createOfficer(ctx, { username: 'alice', role: 'admin', password: 'another long password' })).rejects.toMatchObject({ status: 409 });
    await expect(one.signInOfficer(ctx, 'alice', 'not the password')).rejects.toMatchObject({ status: 401 });
    const session = await one.signInOfficer(ctx, 'alice', officer.password!);
    expect(await two.authenticate(session.access_token)).toMatchObject({ kind: 'officer', id: officer.id, role: 'auditor', via: 'password' });
    await one.signOutOfficer(ctx, session.access_token);
    await expect(one.authenticate(session.access_token)).rejects.toMatchObject({ status: 401, message: 'this session has ended (signed out); sign in again' });
    await expect(whenClockIsLater(ACCOUNT_RECHECK_MS + 1, () => two.authenticate(session.access_token))).rejects.toMatchObject({ status: 401 });
    // A new sign-in is a new session.
    expect(await one.authenticate((await one.signInOfficer(ctx, 'alice', officer.password!)).access_token)).toMatchObject({ kind: 'officer' });
  });

  it("lets no officer remove themselves, and ends a removed officer's sessions", async () => {
    const { one } = await replicas();
    const admin = await one.createOfficer(ctx, { username: 'root', role: 'admin', password: 'an admin password, long' });
    const agent = await one.createOfficer(ctx, { username: 'dana', role: 'privacy-agent', password: 'another long password' });
    const session = await one.signInOfficer(ctx, 'dana', 'another long password');
    const asAdmin: RequestContext = { ...ctx, actor: { type: 'officer', id: admin.id } };
    await expect(one.removeOfficer(asAdmin, admin.id)).rejects.toMatchObject({ status: 409 });
    expect(await one.removeOfficer(asAdmin, agent.id)).toBe(true);
    await expect(one.authenticate(session.access_token)).rejects.toMatchObject({ status: 401 });
    await expect(one.signInOfficer(ctx, 'dana', 'another long password')).rejects.toMatchObject({ status: 401 });
  });
});
