import { formatKeyPath } from '../../shared/key-path.ts';
import type { ConsentService, HistoricEvent } from '../consent/service.ts';
import type { ContactService, PastContact } from '../contacts/service.ts';
import type { AppCaller, ImportedPerson, SubjectService } from '../subjects/service.ts';
import { importRecordSchema, type ImportError, type ImportRecord } from './schema.ts';

/** A row that passed every check that needs no database: what the write needs, in its modules' terms. */
export interface RowPlan {
  line: number;
  externalId: string;
  person: ImportedPerson;
  identifiers: Map<string, string>;
  history: HistoricEvent[];
  doNotCall?: { phone: string; note: string };
  contacts: PastContact[];
}

export interface RowCheckers {
  subjects: Pick<SubjectService, 'importedPersonProblems'>;
  consent: Pick<ConsentService, 'historyProblems'>;
  contacts: Pick<ContactService, 'pastContactProblems'>;
}

/**
 * Checks one row the way a live write would, before anything of it is
 * written: the record's shape, then each module's rules (minimal collection
 * and normalization, consent history, past contacts), and the do-not-call
 * flag's need for a phone number. Every problem is named by field and
 * reason, never by value.
 */
export function planRow(checkers: RowCheckers, caller: AppCaller, line: number, record: unknown, now: Date): { plan: RowPlan } | { errors: ImportError[] } {
  const parsed = importRecordSchema.safeParse(record);
  if (!parsed.success) return { errors: parsed.error.issues.map((i) => ({ line, field: formatKeyPath(i.path) || undefined, reason: i.message })) };
  const r: ImportRecord = parsed.data;
  const person: ImportedPerson = { purpose: r.purpose, identifiers: r.identifiers, attributes: r.attributes, timezone: r.timezone };
  const { problems, identifiers } = checkers.subjects.importedPersonProblems(caller, person);
  const history = r.consents.map(historicEvent);
  const contacts: PastContact[] = r.contacts.map((c) => ({ channel: c.channel, purpose: c.purpose, topic: c.topic, at: new Date(c.at) }));
  const all = [...problems, ...checkers.consent.historyProblems(caller, history, now), ...checkers.contacts.pastContactProblems(caller, contacts, now)];
  const phone = identifiers.get('phone');
  if (r.doNotCall && problems.length === 0 && phone === undefined) all.push({ field: 'doNotCall', reason: 'needs identifiers.phone: the do-not-call list holds phone numbers' });
  if (r.doNotCall && new Date(r.doNotCall.since).getTime() > now.getTime()) all.push({ field: 'doNotCall.since', reason: 'is in the future' });
  if (all.length > 0) return { errors: all.map((p) => ({ line, field: p.field, reason: p.reason })) };
  return {
    plan: {
      line,
      externalId: r.id,
      person,
      identifiers,
      history,
      contacts,
      // The flag's date and source are kept in the entry's sealed note: an officer sees why the number is listed.
      ...(r.doNotCall && phone ? { doNotCall: { phone, note: `imported: do not call since ${r.doNotCall.since} (${r.doNotCall.source})` } } : {}),
    },
  };
}

/** An imported grant or withdrawal in the ledger's terms, with no key left undefined (its id is a digest of it). */
function historicEvent(c: ImportRecord['consents'][number]): HistoricEvent {
  const grant = 'grantedAt' in c;
  const event: HistoricEvent = { purpose: c.purpose, kind: grant ? 'grant' : 'withdraw', at: new Date(grant ? c.grantedAt : c.withdrawnAt), source: c.source };
  if (c.channels) event.channels = c.channels;
  if (c.topics) event.topics = c.topics;
  if (c.recipients) event.recipients = c.recipients;
  if (c.evidence) event.evidence = c.evidence;
  if (grant && c.noticeVersion) event.noticeVersion = c.noticeVersion;
  if (grant && c.expiresAt) event.expiresAt = new Date(c.expiresAt);
  return event;
}

/** Normalized identifiers as keys: a batch holds each person once, so no row of it depends on another's uncommitted write. */
export const identityKeys = (plan: RowPlan): string[] => [...plan.identifiers].map(([kind, value]) => `${kind}\u0000${value}`);
