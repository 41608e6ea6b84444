import { randomUUID } from 'node:crypto';
import { readColumnAlone } from '../../src/storage/alongside.ts';
import type { Database } from '../../src/storage/database.ts';
import { requireThat } from '../../src/storage/engine.ts';
import { insertStatements } from '../../src/storage/raw-sql.ts';
import * as contacts from '../../src/modules/contacts/store.ts';
import { noKeyVersionAfter } from '../../src/modules/key-ring/store.ts';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { backendOf, someoneWaitsFor } from '../support/locks.ts';
import { bareSubject } from '../support/subject-owned.ts';

/**
 * Guarded writes (Database.writeAlone with guards), on both engines: a capped
 * contact is decided on the slots read with the subject, and its slot is kept
 * only if, under the subject's lock, the slots are still those counted.
 */
describe(`guarded writes on ${databaseKind}`, () => {
  let gateway: TestGateway;
  let db: Database;
  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_INTEGRATOR: 'false' });
    db = gateway.runtime.db;
  });
  afterAll(() => gateway.close());

  const since = () => new Date(Date.now() - 24 * 3600_000);
  const slot = (subjectId: string): contacts.ReservationRow => {
    const now = new Date();
    return {
      ticket: `tkt_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      subjectId,
      appId: 'app_claims',
      channel: 'sms',
      purpose: 'marketing',
      topic: null,
      status: 'reserved',
      reservedAt: now,
      expiresAt: new Date(now.getTime() + 15 * 60_000),
      revealedAt: null,
      outcomeAt: null,
    };
  };
  const slotsOf = (subjectId: string, from: Date) => readColumnAlone(db, contacts.slotsColumn(db.adapter, 'sms', from), subjectId);
  /** The slot, written only if the claim holds for what was seen. */
  const claim = (r: contacts.ReservationRow, from: Date, seen: string) =>
    db.writeAlone(insertStatements(contacts.reservationRows([r])), [contacts.claimSlot(db.adapter, r.subjectId, r.channel, from, seen, r.ticket)]);
  const stored = (r: contacts.ReservationRow) => db.read.contactReservation.count({ where: { ticket: r.ticket } });

  it('keeps a slot only while the slots counted are still those held', async () => {
    const subjectId = await bareSubject(gateway);
    const from = since();
    const first = await slotsOf(subjectId, from);
    expect(first.held(new Date())).toEqual([]);
    const a = slot(subjectId);
    expect(await claim(a, from, first.seen)).toBe(true);
    expect(await stored(a)).toBe(1);

    // Decided on the first read, which did not count `a`: refused, and nothing written.
    const b = slot(subjectId);
    expect(await claim(b, from, first.seen)).toBe(false);
    expect(await stored(b)).toBe(0);

    // Read again, `a` is counted and the claim holds.
    const second = await slotsOf(subjectId, from);
    expect(second.held(new Date()).map((h) => h.purpose)).toEqual(['marketing']);
    expect(await claim(b, from, second.seen)).toBe(true);

    // A slot given back (not-sent) changes what is counted as well.
    const third = await slotsOf(subjectId, from);
    await db.read.contactReservation.update({ where: { ticket: a.ticket }, data: { status: 'released' } });
    const c = slot(subjectId);
    expect(await claim(c, from, third.seen)).toBe(false);
    expect(await stored(c)).toBe(0);
  });

  it("waits for a decision that holds the subject's lock, and sees the slot it committed", async () => {
    const subjectId = await bareSubject(gateway);
    const from = since();
    const seen = (await slotsOf(subjectId, from)).seen;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const held = slot(subjectId);
    // A capped decision on the transaction path: the subject's lock, then its slot, written at commit.
    let holder = 0;
    const decision = db.transaction(async (tx) => {
      await contacts.lockSubjectContacts(tx, [subjectId]);
      contacts.reserveSlot(tx, held);
      if (databaseKind === 'postgresql') holder = await backendOf(tx);
      locked();
      await released;
    });
    await isLocked;
    const late = slot(subjectId);
    let settled = false;
    const claimed = claim(late, from, seen).finally(() => (settled = true));
    // PostgreSQL shows the claim waiting for the lock; on SQLite it waits for the one write lock, inside this process.
    if (databaseKind === 'postgresql') await someoneWaitsFor(gateway, holder);
    expect(settled).toBe(false);
    release();
    await decision;
    // The claim read the slots again once it had the lock, in a snapshot that holds the committed slot.
    expect(await claimed).toBe(false);
    expect(await stored(held)).toBe(1);
    expect(await stored(late)).toBe(0);
  });

  it('writes nothing when any guard refuses, and leaves other failures 503', async () => {
    const a = slot(await bareSubject(gateway));
    const from = since();
    const { seen } = await slotsOf(a.subjectId, from);
    const rows = insertStatements(contacts.reservationRows([a]));
    const claimA = contacts.claimSlot(db.adapter, a.subjectId, a.channel, from, seen, a.ticket);
    expect(await db.writeAlone(rows, [requireThat('1 = ?', [2], 'one is not two'), claimA])).toBe(false);
    // Digests made for key version 1 do not cover version 2 once it exists; the current one here is 1.
    expect(await db.writeAlone(rows, [noKeyVersionAfter(0), claimA])).toBe(false);
    expect(await stored(a)).toBe(0);
    expect(await db.writeAlone(rows, [noKeyVersionAfter(1), claimA])).toBe(true);
    expect(await stored(a)).toBe(1);
    // Other errors are not refusals: a collision is a 503, as for any write.
    const b = slot(a.subjectId);
    const again = await db.writeAlone([...rows, ...insertStatements(contacts.reservationRows([b]))], [requireThat('TRUE', [], 'always')]).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 503 });
    expect(await stored(b)).toBe(0);
  });
});
