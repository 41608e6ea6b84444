import { randomUUID } from 'node:crypto';
import { seal } from '../../crypto/envelope.ts';
import { InvalidIdentifier, NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { isUniqueViolation, type Database, type Tx } from '../../storage/database.ts';
import type { SqlStatement } from '../../storage/raw-sql.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import * as store from './store.ts';

export interface DoNotCallDeps {
  db: Database;
  audit: AuditGroupCommit;
  pseudonyms: IdentifierPseudonyms;
  /** Encrypts an officer's note on an entry: it is free text, and may name the person. */
  noteSealingKey: Buffer;
}

/**
 * Do-not-call lists: national registries imported as pseudonym tags
 * (import.ts), the organisation's internal entries, and the one question
 * every other module asks: which lists hold this number? Numbers are stored
 * only as pseudonyms.
 */
export function createDoNotCall(deps: DoNotCallDeps) {
  const { db, audit, pseudonyms } = deps;

  function normalizedPhone(raw: string): string {
    const result = pseudonyms.normalize('phone', raw);
    if ('problem' in result) throw new InvalidIdentifier([{ path: 'phone', message: result.problem }]);
    return result.value;
  }

  /** The lists in force that hold a normalized phone number, in one statement (which also checks the key version its digests were made for). */
  async function listingSources(phone: string): Promise<string[]> {
    return pseudonyms.lookupByDigests('phone', phone, async (digests, version) => {
      const { sources, alongside } = await store.listingSourcesWith(db, digests, version);
      return { found: sources, version: alongside };
    });
  }

  async function insertInternal(tx: Tx, digest: { keyVersion: number; digest: string }, note: string | undefined): Promise<string> {
    const id = `dnc_${randomUUID()}`;
    await store.ensureInternalSource(tx, new Date());
    await store.insertDncEntry(tx, {
      id,
      source: store.INTERNAL_IMPORT,
      importId: store.INTERNAL_IMPORT,
      keyVersion: digest.keyVersion,
      digest: digest.digest,
      note: note === undefined ? null : seal(deps.noteSealingKey, Buffer.from(note, 'utf8'), `dnc/${id}`),
      createdAt: new Date(),
    });
    return id;
  }

  return {
    listingSources,
    /**
     * For a write that assumes the number is listed nowhere: guards that
     * refuse it if it is (or if keys were rotated past what this process
     * knows), checked in the write's own statement (Database.writeAlone with guards).
     */
    unlistedGuards: (phone: string): SqlStatement[] => pseudonyms.guardByDigests('phone', phone, store.unlistedGuard),
    /** Which of many digests (a campaign's numbers) are listed, and where: the scrub's one lookup. */
    matches: (digests: string[]) => store.dncMatches(db, digests),

    /**
     * Lists a number internally. A number listed already (by an officer, or by
     * an opt-out) keeps its entry: the answer names it, with `added: false`,
     * and the trail records that it was listed already. Two officers adding
     * the same number at once: the second's insert collides, and it answers
     * from the entry the first made.
     */
    async addEntry(ctx: RequestContext, input: { phone: string; note?: string }): Promise<{ id: string; added: boolean }> {
      const key = await pseudonyms.currentDigest('phone', normalizedPhone(input.phone));
      const add = () =>
        db.transaction(async (tx) => {
          const existing = await store.findInternalEntry(tx, key.digest);
          const id = existing ?? (await insertInternal(tx, key, input.note));
          await appendAuditEvent(tx, ctx, { action: 'dnc.entry.add', decision: 'info', reasons: [{ code: 'entry', detail: id }, ...(existing ? [{ code: 'listed-already' }] : [])] });
          return { id, added: existing === undefined };
        });
      try {
        return await add();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return add();
      }
    },

    async removeEntry(ctx: RequestContext, id: string): Promise<void> {
      const removed = await db.transaction(async (tx) => {
        const done = await store.deleteDncEntry(tx, id, store.INTERNAL_IMPORT);
        if (done) await appendAuditEvent(tx, ctx, { action: 'dnc.entry.remove', decision: 'info', reasons: [{ code: 'entry', detail: id }] });
        return done;
      });
      if (!removed) throw new NotFound('no internal suppression entry with this id');
    },

    async checkNumber(ctx: RequestContext, phone: string): Promise<{ listed: boolean; sources: string[] }> {
      const sources = await listingSources(normalizedPhone(phone));
      await audit.record(ctx, { action: 'dnc.check', decision: 'info', reasons: [{ code: sources.length > 0 ? 'listed' : 'not-listed' }] });
      return { listed: sources.length > 0, sources };
    },

    /**
     * Puts a normalized number on the internal list inside the caller's
     * transaction (a customer's opt-out, an erasure that must keep an
     * opted-out number suppressed, an imported do-not-call flag, whose date and
     * source go in the sealed note); a number already listed internally is left as it is.
     */
    async suppressInTransaction(tx: Tx, ctx: RequestContext, phone: string, reason: string, note?: string): Promise<{ id: string; added: boolean }> {
      const key = await pseudonyms.currentDigest('phone', phone);
      const existing = await store.findInternalEntry(tx, key.digest);
      if (existing) return { id: existing, added: false };
      const id = await insertInternal(tx, key, note);
      await appendAuditEvent(tx, ctx, { action: 'dnc.entry.add', decision: 'info', reasons: [{ code: 'entry', detail: id }, { code: reason }] });
      return { id, added: true };
    },

    /** Do-not-call status of a normalized number: the lists in force and the internal entries (ids) an officer may remove. */
    async statusOf(phone: string): Promise<{ listed: boolean; sources: string[]; internalEntries: string[] }> {
      const sources = await listingSources(phone);
      return { listed: sources.length > 0, sources, internalEntries: await store.internalEntryIds(db, await pseudonyms.digestsOf('phone', phone)) };
    },
  };
}

export type DoNotCall = ReturnType<typeof createDoNotCall>;
