import { randomBytes } from 'node:crypto';
import { Conflict, ValidationError } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { Auth } from './auth.ts';
import { hashSecret } from './passwords.ts';
import { officerRoleSchema, passwordSchema, usernameSchema, type CreatedOfficer, type OfficerRole } from './schema.ts';

/** Without a password, one is generated and returned once (Custos keeps only its hash). */
export async function createOfficer(a: Auth, ctx: RequestContext, input: { username: string; role: OfficerRole; password?: string }): Promise<CreatedOfficer> {
  const { db, store } = a;
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
}

/**
 * Disables an officer (the record stays: the trail names officers by id).
 * Their sessions stop working within ACCOUNT_RECHECK_MS on every replica.
 * Officers cannot remove themselves, so the last admin cannot lock everyone out by accident.
 */
export async function removeOfficer(a: Auth, ctx: RequestContext, officerId: string): Promise<boolean> {
  const { db, officers, store } = a;
  if (ctx.actor.type === 'officer' && ctx.actor.id === officerId) throw new Conflict('you cannot remove your own account; ask another admin');
  return db
    .transaction(async (tx) => {
      const removed = await store.markOfficerDisabled(tx, officerId, new Date());
      if (removed) await appendAuditEvent(tx, ctx, { action: 'auth.officer.remove', decision: 'info', reasons: [{ code: 'officer', detail: officerId }] });
      return removed;
    })
    .finally(() => officers.delete(officerId));
}

/** The id of an officer named by username or id ('oidc:<sub>' ids pass through); for audit filters. */
export async function officerIdOf(a: Auth, usernameOrId: string): Promise<string | undefined> {
  const { db, store } = a;
  if (usernameOrId.startsWith('oidc:')) return usernameOrId;
  const byName = await store.findOfficerByUsername(db.read, usernameOrId);
  if (byName) return byName.id;
  return (await store.findOfficer(db.read, usernameOrId))?.id;
}
