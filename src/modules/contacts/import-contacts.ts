import { createHash } from 'node:crypto';
import type { Tx } from '../../storage/database.ts';
import { placeholders, query } from '../../storage/raw-sql.ts';
import type { Contacts } from './contacts.ts';
import { longestCapWindow } from './rules.ts';
import * as store from './store.ts';

/** A contact another system made (its dialer, its SMS gateway): channel, purpose, optional topic, when. */
export interface PastContact {
  channel: string;
  purpose: string;
  topic?: string;
  at: Date;
}

/** What the policy says of a past contact, checked before anything of the row is written: a purpose the app holds, a channel and topic of it, a time that has passed. */
export function pastContactProblems(c: Contacts, caller: { purposes: readonly string[] }, contacts: PastContact[], now: Date): Array<{ field: string; reason: string }> {
  const out: Array<{ field: string; reason: string }> = [];
  contacts.forEach((contact, i) => {
    const at = `contacts[${i}]`;
    const definition = c.policy.purposes[contact.purpose];
    if (!definition) out.push({ field: `${at}.purpose`, reason: 'unknown-purpose' });
    else if (!caller.purposes.includes(contact.purpose)) out.push({ field: `${at}.purpose`, reason: 'purpose-not-granted' });
    else {
      if (!definition.channels.includes(contact.channel)) out.push({ field: `${at}.channel`, reason: `not a channel of ${contact.purpose} (${definition.channels.join(', ') || 'none'})` });
      if (contact.topic !== undefined && !definition.topics.includes(contact.topic)) out.push({ field: `${at}.topic`, reason: `not a topic of ${contact.purpose}` });
    }
    if (contact.at.getTime() > now.getTime()) out.push({ field: `${at}.at`, reason: 'is in the future' });
  });
  return out;
}

/**
 * Counts past contacts against the frequency caps from now on: each becomes a
 * slot held as a contact that was sent (status `sent`, reserved at its
 * original time, a ticket that reveals nothing), in the import's transaction
 * and under the subject's contact lock (the import takes it for its rows
 * first). A contact older than the longest cap window would never be counted,
 * so it is not kept; one entered before (a re-run) is not entered again.
 * Answers how many were entered and how many were too old.
 */
export async function importPastContacts(
  c: Contacts,
  tx: Tx,
  subject: { id: string; isNew: boolean },
  appId: string,
  contacts: PastContact[],
  now: Date,
): Promise<{ entered: number; tooOld: number }> {
  const horizon = longestCapWindow(c.policy, now);
  const recent = contacts.filter((x) => x.at.getTime() > horizon.getTime());
  const tooOld = contacts.length - recent.length;
  if (recent.length === 0) return { entered: 0, tooOld };
  // The ticket is derived from the subject and the contact, so a re-run finds it; the subject's id makes it unguessable.
  const tickets = new Map(
    recent.map((x) => [
      `imp_${createHash('sha256')
        .update(`${subject.id}\u0000${x.channel}\u0000${x.purpose}\u0000${x.topic ?? ''}\u0000${x.at.toISOString()}`)
        .digest('base64url')}`,
      x,
    ]),
  );
  const known = subject.isNew ? new Set<string>() : await ticketsKnown(tx, [...tickets.keys()]);
  let entered = 0;
  for (const [ticket, x] of tickets) {
    if (known.has(ticket)) continue;
    store.reserveSlot(tx, {
      ticket,
      subjectId: subject.id,
      appId,
      channel: x.channel,
      purpose: x.purpose,
      topic: x.topic ?? null,
      status: 'sent',
      reservedAt: x.at,
      expiresAt: x.at,
      revealedAt: null,
      outcomeAt: x.at,
    });
    entered++;
  }
  return { entered, tooOld };
}

async function ticketsKnown(tx: Tx, tickets: string[]): Promise<Set<string>> {
  const rows = await query<{ ticket: string }>(tx, `SELECT ticket FROM contact_reservation WHERE ticket IN (${placeholders(tickets.length)})`, tickets);
  return new Set(rows.map((r) => r.ticket));
}
