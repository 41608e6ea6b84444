import { Conflict, Forbidden, NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { CHANNEL_IDENTIFIER, type ContactCaller, type Contacts } from './contacts.ts';
import * as store from './store.ts';

export async function ticketOf(c: Contacts, ctx: RequestContext, caller: ContactCaller, ticket: string, action: string): Promise<store.ReservationRow> {
  const { db, refuse } = c;
  const row = /^tkt_[A-Za-z0-9_-]{24}$/.test(ticket) ? await store.findReservation(db.read, ticket) : undefined;
  // Another app's ticket looks exactly like one that does not exist.
  if (!row || row.appId !== caller.clientId) return refuse(ctx, { action, reason: 'unknown-ticket' }, new NotFound('no such ticket'));
  return row;
}

/** The raw identifier for the ticket's channel, once, if the purpose lists it in `reveal`. */
export async function reveal(c: Contacts, ctx: RequestContext, caller: ContactCaller, ticket: string): Promise<{ channel: string; field: string; value: string }> {
  const { db, policy, subjects, refuse } = c;
  const action = 'contacts.reveal';
  const row = await ticketOf(c, ctx, caller, ticket, action);
  const event = { action, subject: row.subjectId, purpose: row.purpose };
  const field = CHANNEL_IDENTIFIER[row.channel];
  if (!field || !policy.purposes[row.purpose]?.reveal.includes(field) || !caller.reveal.includes(row.channel)) {
    return refuse(ctx, { ...event, reason: 'not-revealable' }, new Forbidden(`the ${row.purpose} purpose or this app may not reveal the ${field ?? row.channel} of a person`));
  }
  const now = new Date();
  if (row.expiresAt.getTime() <= now.getTime()) return refuse(ctx, { ...event, reason: 'ticket-expired' }, new Conflict('the ticket has expired; authorize the contact again'));
  if (row.status !== 'reserved') return refuse(ctx, { ...event, reason: 'ticket-closed' }, new Conflict(`the contact is already ${row.status}`));
  const details = await subjects.contactDetails(row.subjectId, field);
  if (!details?.value) return refuse(ctx, { ...event, reason: 'no-identifier' }, new NotFound(`Custos holds no ${field} for this person`));
  const revealed = await db.transaction(async (tx) => {
    if (!(await store.markRevealed(tx, ticket, now))) return false;
    await appendAuditEvent(tx, ctx, { ...event, decision: 'allow', fields: [field], reasons: [{ code: 'ticket', detail: ticket }] });
    return true;
  });
  if (!revealed) return refuse(ctx, { ...event, reason: 'already-revealed' }, new Conflict('this ticket has been revealed already; a ticket reveals once'));
  return { channel: row.channel, field, value: details.value };
}

/** sent | failed keep the slot (the contact was attempted); not-sent gives it back. */
export async function outcome(c: Contacts, ctx: RequestContext, caller: ContactCaller, ticket: string, status: 'sent' | 'failed' | 'not-sent'): Promise<{ ticket: string; status: string }> {
  const { db, refuse } = c;
  const action = 'contacts.outcome';
  const row = await ticketOf(c, ctx, caller, ticket, action);
  const stored = status === 'not-sent' ? 'released' : status;
  const recorded = await db.transaction(async (tx) => {
    if (!(await store.recordOutcome(tx, ticket, stored, new Date()))) return false;
    await appendAuditEvent(tx, ctx, { action, decision: 'info', subject: row.subjectId, purpose: row.purpose, reasons: [{ code: status, detail: ticket }] });
    return true;
  });
  if (!recorded)
    return refuse(ctx, { action, subject: row.subjectId, purpose: row.purpose, reason: 'outcome-recorded' }, new Conflict(`the outcome of this ticket is already recorded (${row.status})`));
  return { ticket, status: stored };
}
