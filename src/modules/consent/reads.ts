import { ConsentRequired } from '../../shared/errors.ts';
import type { Database } from '../../storage/database.ts';
import { readColumnAlone, type ColumnAlongside } from '../../storage/alongside.ts';
import type { Policy } from '../policies/schema.ts';
import type { ConsentState } from './schema.ts';
import { applyEntry, consentAt, consentCovers, type ConsentScope, describeHistory, emptyConsent, foldConsent } from './state.ts';
import * as store from './store.ts';

/** Whether a use is covered, and the consent it was judged on (null: the purpose is not consent-based). */
export interface ConsentCheck {
  allowed: boolean;
  state: ConsentState | null;
}

/**
 * The check of one use whose one row is read inside the statement that reads
 * the subject (one round trip instead of two): `column` reads and judges the
 * kept state there; it is absent when there is nothing to read (the purpose is
 * not consent-based, or unknown). `checked` answers from what it read.
 */
export interface ConsentRead {
  column?: ColumnAlongside<ConsentCheck>;
  checked(read: ConsentCheck | undefined): ConsentCheck;
}

/** Throws ConsentRequired (403) when the check failed; otherwise which rule let the use through, for the audit event. */
export function requiredBasis(purpose: string, { allowed, state }: ConsentCheck): 'consent-active' | 'not-consent-based' {
  if (!allowed) throw new ConsentRequired(`no active consent covers ${purpose}${state ? ` (consent is ${state.status})` : ''}`);
  return state ? 'consent-active' : 'not-consent-based';
}

/**
 * What other modules ask of consent (is this use covered? a person's whole
 * record), read from the kept state beside the ledger; grants and withdrawals
 * are in service.ts.
 */
export function createConsentReads(db: Database, policy: Policy) {
  /**
   * The one consent check every module uses (subject reads, contact
   * authorization). Purposes whose basis is not consent are not gated. Reads
   * the kept state every time: a cache could allow a withdrawn purpose.
   */
  function consentRead(purpose: string, scope: ConsentScope = {}): ConsentRead {
    const definition = policy.purposes[purpose];
    if (!definition || definition.basis !== 'consent') {
      const answer = { allowed: Boolean(definition), state: null };
      return { checked: () => answer };
    }
    const judge = (kept: ConsentState | undefined): ConsentCheck => {
      const state = consentAt(kept ?? emptyConsent(purpose), new Date());
      return { allowed: consentCovers(state, scope), state };
    };
    return { column: store.stateColumn(purpose, judge), checked: (read) => read ?? judge(undefined) };
  }

  /** The same check on its own, for a subject already known: one statement. */
  async function checkConsent(subjectId: string, purpose: string, scope: ConsentScope = {}): Promise<ConsentCheck> {
    const read = consentRead(purpose, scope);
    return read.checked(read.column && (await readColumnAlone(db, read.column, subjectId)));
  }

  /** The same check for many subjects at once (campaign scrubbing). */
  async function checkConsentMany(subjectIds: string[], purpose: string, scope: ConsentScope = {}): Promise<Map<string, { allowed: boolean; state: ConsentState | null }>> {
    const definition = policy.purposes[purpose];
    const out = new Map<string, { allowed: boolean; state: ConsentState | null }>();
    if (!definition || definition.basis !== 'consent') {
      for (const id of subjectIds) out.set(id, { allowed: Boolean(definition), state: null });
      return out;
    }
    const kept = await store.readStatesMany(db, subjectIds, purpose);
    const now = new Date();
    for (const id of subjectIds) {
      const state = consentAt(kept.get(id) ?? emptyConsent(purpose), now);
      out.set(id, { allowed: consentCovers(state, scope), state });
    }
    return out;
  }

  /** Every consent-based purpose's state, the whole ledger in people's terms, and the signed receipts (access exports). */
  async function recordOf(subjectId: string) {
    const entries = await store.readLedger(db.read, subjectId);
    const now = new Date();
    const receipts = await store.receiptsOf(db.read, subjectId);
    const purposes = Object.keys(policy.purposes)
      .filter((p) => policy.purposes[p]!.basis === 'consent')
      .map((p) => foldConsent(p, policy.purposes[p]!, entries, now));
    return {
      purposes,
      history: describeHistory(entries, now).map((h) => ({ ...h, receipt: h.receiptId ? (receipts.get(h.receiptId) ?? null) : null })),
      withdrawals: entries.filter((e) => e.kind === 'withdraw').length,
    };
  }

  return { consentRead, checkConsent, checkConsentMany, recordOf };
}

/**
 * Ledgers written before the kept state existed (0011) get it once, folded
 * from the ledger, when Custos starts; safe on several replicas at once
 * (the same fold gives the same state).
 */
export async function foldLegacyLedgers(db: Database, policy: Policy): Promise<number> {
  let folded = 0;
  for (;;) {
    const missing = await store.ledgersWithoutState(db, 500);
    if (missing.length === 0) return folded;
    await db.transaction(async (tx) => {
      for (const { subjectId, purpose } of missing) {
        const definition = policy.purposes[purpose];
        const entries = await store.readPurposeLedgerIn(tx, subjectId, purpose);
        // A purpose no longer in the policy gates nothing; its state stays empty.
        const state = definition ? entries.reduce((s, e) => applyEntry(definition, s, e), emptyConsent(purpose)) : emptyConsent(purpose);
        await store.writeState(tx, subjectId, state);
      }
    });
    folded += missing.length;
  }
}
