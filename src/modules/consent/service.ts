import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import { createConsent, type ConsentCaller, type ConsentServiceDeps, type ConsentSignals } from './consent.ts';
import { grant } from './grant.ts';
import { historyProblems, importHistories, type HistoricEvent, type HistorySubject } from './import-history.ts';
import { list } from './list.ts';
import { withdrawForSubject } from './opt-out.ts';
import { createConsentReads, foldLegacyLedgers } from './reads.ts';
import type { ConsentGrantInput, ConsentWithdrawInput } from './schema.ts';
import * as store from './store.ts';
import { withdraw } from './withdraw.ts';

export type { ConsentCaller, ConsentServiceDeps, ConsentSignals } from './consent.ts';
export type { HistoricEvent } from './import-history.ts';

/** The consent ledger, one operation a file (grant, withdraw, opt-out, list; reads in reads.ts), wired here. */
export function createConsentService(deps: ConsentServiceDeps) {
  const c = createConsent(deps);
  const { db, policy } = deps;
  return {
    ...createConsentReads(db, policy),
    foldLegacyLedgers: () => foldLegacyLedgers(db, policy),
    grant: (ctx: RequestContext, caller: ConsentCaller, ref: string, purpose: string, input: ConsentGrantInput, signals: ConsentSignals) => grant(c, ctx, caller, ref, purpose, input, signals),
    withdraw: (ctx: RequestContext, caller: ConsentCaller, ref: string, purpose: string, input: ConsentWithdrawInput, signals: ConsentSignals) =>
      withdraw(c, ctx, caller, ref, purpose, input, signals),
    list: (ctx: RequestContext, caller: ConsentCaller, ref: string) => list(c, ctx, caller, ref),
    withdrawForSubject: (ctx: RequestContext, subjectId: string, withdrawals: Array<{ purpose: string; channels?: string[]; topics?: string[] }>, source: string) =>
      withdrawForSubject(c, ctx, subjectId, withdrawals, source),
    /** The lock every grant and withdrawal of a subject takes first; an erasure (and an import) takes it before it holds the subject. Sorted ids: one statement, in that order. */
    lockSubjects: (tx: Tx, subjectIds: string[]) => store.lockSubjectLedger(tx, subjectIds),
    lastEntryPerPurpose: (subjectIds: string[]) => store.lastEntryPerPurpose(db.read, subjectIds),
    // For imports (the imports module): history checked before a row is written, then entered in its transaction.
    historyProblems: (caller: ConsentCaller, events: HistoricEvent[], now: Date) => historyProblems(c, caller, events, now),
    importHistories: (tx: Tx, ctx: RequestContext, items: Array<{ subject: HistorySubject; events: HistoricEvent[] }>, importId: string) => importHistories(c, tx, ctx, items, importId),
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;
