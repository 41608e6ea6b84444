import type { RequestContext } from '../../shared/request-context.ts';
import type { Consent, ConsentCaller } from './consent.ts';
import type { ConsentHistoryEntry, ConsentState } from './schema.ts';
import { describeHistory } from './state.ts';

export async function list(c: Consent, ctx: RequestContext, caller: ConsentCaller, ref: string): Promise<{ ref: string; purposes: ConsentState[]; history: ConsentHistoryEntry[] }> {
  const { db, policy, audit } = c;
  const action = 'consent.list';
  const subjectId = await c.resolve(ctx, caller, ref, action);
  const entries = await c.store.readLedger(db.read, subjectId);
  const now = new Date();
  const visible = caller.purposes.filter((p) => policy.purposes[p]);
  const result = {
    ref,
    purposes: visible.map((p) => c.stateOf(p, entries, now)),
    history: describeHistory(
      entries.filter((e) => visible.includes(e.purpose)),
      now,
    ),
  };
  await audit.record(ctx, { action, decision: 'allow', subject: subjectId, fields: [], reasons: [{ code: 'purposes', detail: visible.join(',') }] });
  return result;
}
