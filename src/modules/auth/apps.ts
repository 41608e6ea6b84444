import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { newClientId, type Auth, type CreatedApp } from './auth.ts';
import { hashSecret } from './passwords.ts';

export async function createApp(a: Auth, ctx: RequestContext, input: { name: string; purposes: string[]; reveal: string[] }): Promise<CreatedApp> {
  const { db, checkGrants, store } = a;
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
}

export async function removeApp(a: Auth, ctx: RequestContext, clientId: string): Promise<boolean> {
  const { db, apps, store } = a;
  return db
    .transaction(async (tx) => {
      const removed = await store.markAppRemoved(tx, clientId, new Date());
      if (removed) await appendAuditEvent(tx, ctx, { action: 'auth.app.remove', decision: 'info', reasons: [{ code: 'client', detail: clientId }] });
      return removed;
    })
    .finally(() => apps.delete(clientId));
}
