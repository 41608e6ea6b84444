import type { ConsentState } from '../../../src/modules/consent/schema.ts';
import type { LedgerEntry } from '../../../src/modules/consent/state.ts';
import type { ConsentLedgerStore } from '../../../src/modules/consent/store.ts';
import { unitStateKey } from '../../../src/storage/unit-of-work.ts';
import type { FakeParticipant } from './fake-database.ts';

type Ledger = { entries: LedgerEntry[]; kept: Map<string, ConsentState> };

/**
 * The consent ledger in memory (ConsentLedgerStore), as the SQL store behaves:
 * a transaction reads a subject's kept states once and moves them on as it
 * appends (later writes of a group see earlier ones), entries are numbered
 * 1, 2, 3 per subject, and appending needs the states read first.
 */
export function createFakeConsentStore(): ConsentLedgerStore & FakeParticipant & { ledgers: Map<string, Ledger> } {
  const ledgers = new Map<string, Ledger>();
  const ledgerOf = (subjectId: string): Ledger => {
    let ledger = ledgers.get(subjectId);
    if (!ledger) ledgers.set(subjectId, (ledger = { entries: [], kept: new Map() }));
    return ledger;
  };
  // What a unit of work has read: the subjects whose states it holds.
  const READ = unitStateKey('fake consent ledger', (): Set<string> => new Set());
  return {
    ledgers,
    snapshot() {
      const saved = new Map([...ledgers].map(([id, l]) => [id, { entries: [...l.entries], kept: new Map(l.kept) }]));
      return () => {
        ledgers.clear();
        saved.forEach((l, id) => ledgers.set(id, l));
      };
    },
    lockSubjectLedger: async () => undefined,
    async ledgerStates(tx, subjectId) {
      tx.unit.state(READ).add(subjectId);
      return ledgerOf(subjectId).kept;
    },
    appendLedger(tx, subjectId, entry, next) {
      if (!tx.unit.state(READ).has(subjectId)) throw new Error('appendLedger needs ledgerStates first, under the ledger lock');
      const ledger = ledgerOf(subjectId);
      const seq = ledger.entries.length + 1;
      const { id: _id, actorId: _actor, requestId: _request, receipt: _receipt, ...kept } = entry;
      ledger.entries.push({ ...kept, seq });
      ledger.kept.set(entry.purpose, next(ledger.kept.get(entry.purpose), seq));
    },
    readLedger: async (_db, subjectId) => [...(ledgers.get(subjectId)?.entries ?? [])],
  };
}
