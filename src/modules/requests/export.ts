import type { AttributeValue } from '../subjects/schema.ts';
import type { RequestActionDeps } from './apply.ts';

const WITHHELD = 'an identifier this request did not verify; ask with it to see its value';

/** Who did something, in words a person can read. */
function actorName(actor: { type: string; id: string | null }, apps: Map<string, string>): string {
  if (actor.type === 'app') return apps.get(actor.id ?? '') ?? 'an application that has since been removed';
  if (actor.type === 'officer') return 'a compliance officer';
  if (actor.type === 'customer') return 'you (a privacy request)';
  return 'Custos';
}

/**
 * A person's access export: every field held and its value, the purposes and
 * legal basis it is held for and for how long, the consent history with the
 * signed receipts, the contacts made, and who accessed the data when and why
 * (from the audit trail). Identifier values other than the verified one are
 * listed but withheld: proving a phone number must not hand out an e-mail
 * address. A person Custos does not know gets the same shape, empty.
 */
export async function buildExport(deps: RequestActionDeps, subjectIds: string[], identifier: { kind: string }) {
  const { policy, subjects, consent, contacts, auditSearch } = deps;
  const apps = await deps.appNames();
  const shown = (field: string, value: AttributeValue | null) => (policy.fields[field]?.kind === 'identifier' && field !== identifier.kind ? null : value);
  const heldFor = (field: string) =>
    Object.entries(policy.purposes)
      .filter(([, p]) => p.collect.includes(field))
      .map(([purpose, p]) => ({ purpose, description: p.description ?? null, basis: p.basis, retention: p.retention ?? null }));

  const out = {
    /** The kind of identifier the person proved; its value is among the fields when Custos holds it. */
    verifiedBy: identifier.kind,
    held: false,
    fields: [] as Array<{ field: string; kind: string; value: AttributeValue | null; withheld: string | null; heldFor: ReturnType<typeof heldFor>; updatedAt: string }>,
    timezone: null as string | null,
    history: [] as Array<{ field: string; change: string; value: AttributeValue | null; purpose: string; at: string }>,
    apps: [] as Array<{ app: string; since: string }>,
    consents: { purposes: [] as unknown[], history: [] as unknown[] },
    contacts: [] as Array<{ app: string; channel: string; purpose: string; topic: string | null; at: string; outcome: string }>,
    accessLog: [] as Array<{ at: string; by: string; actorType: string; action: string; decision: string; purpose: string | null; fields: string[]; reasons: string[] }>,
  };
  for (const subjectId of subjectIds) {
    const held = await subjects.heldData(subjectId);
    if (!held) continue; // erased since the request was verified
    out.held = true;
    out.timezone = held.timezone;
    for (const f of held.fields) {
      const value = shown(f.field, f.value);
      out.fields.push({ field: f.field, kind: f.kind, value, withheld: value === null ? WITHHELD : null, heldFor: heldFor(f.field), updatedAt: f.updatedAt.toISOString() });
    }
    out.history.push(...held.history.map((h) => ({ field: h.field, change: h.change, value: shown(h.field, h.value), purpose: h.purpose, at: h.at.toISOString() })));
    out.apps.push(...held.apps.map((a) => ({ app: apps.get(a.appId) ?? a.appId, since: a.since.toISOString() })));
    const record = await consent.recordOf(subjectId);
    out.consents.purposes.push(...record.purposes);
    out.consents.history.push(...record.history);
    out.contacts.push(
      ...(await contacts.contactsOfSubject(subjectId)).map((c) => ({
        app: apps.get(c.appId) ?? c.appId,
        channel: c.channel,
        purpose: c.purpose,
        topic: c.topic,
        at: c.at.toISOString(),
        outcome: c.outcome,
      })),
    );
  }
  for (const event of await auditSearch.eventsAbout(subjectIds)) {
    out.accessLog.push({
      at: event.at,
      by: actorName(event.actor, apps),
      actorType: event.actor.type,
      action: event.action,
      decision: event.decision,
      purpose: event.purpose,
      fields: event.fields,
      reasons: event.reasons.map((r) => r.code),
    });
  }
  return out;
}
