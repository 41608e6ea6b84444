import { randomUUID } from 'node:crypto';
import type { SigningKey } from '../../crypto/signing-key.ts';
import { NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database, Tx } from '../../storage/database.ts';
import { createTransactionGroups } from '../../storage/grouped-transactions.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { Policy, PurposeDefinition } from '../policies/schema.ts';
import type { ConsentState } from './schema.ts';
import { applyEntry, consentAt, emptyConsent, foldConsent, type LedgerEntry } from './state.ts';
import * as store from './store.ts';

export interface ConsentCaller {
  clientId: string;
  purposes: readonly string[];
}

export interface ConsentServiceDeps {
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  signingKey: SigningKey;
  issuer: string;
  /** Where receipts point for the privacy notice. */
  policyUrl: string;
  /** The subjects module resolves refs; consent never reads its tables. */
  subjectOfRef: (appId: string, ref: string) => Promise<string | undefined>;
  /** The ledger's storage; the SQL store unless a test hands an in-memory one. */
  store?: store.ConsentLedgerStore;
}

/** A request's context as far as consent cares: did the person's browser send Sec-GPC: 1? */
export interface ConsentSignals {
  gpc: boolean;
}

export type Violation = { field: string; reason: string };
export type Kept = ReadonlyMap<string, ConsentState>;
export type NewLedgerEntry = Omit<LedgerEntry, 'seq'> & { id: string; actorId: string | null; requestId: string | null; receipt?: string; evidence?: string | null; importId?: string | null };

export const keptOf = (kept: Kept, purpose: string): ConsentState => kept.get(purpose) ?? emptyConsent(purpose);

/**
 * What the ledger's write paths share (one a file: grant.ts, withdraw.ts,
 * opt-out.ts; reads in reads.ts, list.ts): grants, withdrawals and a
 * customer's own opt-out share one append step (ledger entry and kept state
 * together, under the subject's lock).
 */
export interface Consent extends ConsentServiceDeps {
  deps: ConsentServiceDeps;
  store: store.ConsentLedgerStore;
  /** Purposes a Global Privacy Control signal opts out of: those that sell or share personal data. */
  salePurposes: string[];
  refuse: AuditGroupCommit['refuse'];
  /** Grants and withdrawals that arrive together share one transaction; each subject's ledger lock is taken before any write of the group. */
  writes: ReturnType<typeof createTransactionGroups>;
  resolve(ctx: RequestContext, caller: ConsentCaller, ref: string, action: string, purpose?: string): Promise<string>;
  purposeProblems(
    caller: ConsentCaller,
    purpose: string,
    scope: { channels?: string[]; topics?: string[]; recipients?: string[] },
  ): { definition?: PurposeDefinition; violations: Violation[]; forbidden?: boolean };
  stateOf(purpose: string, entries: LedgerEntry[], now: Date): ConsentState;
  /** The kept states of some purposes, read under the ledger lock: one row each, whatever the ledger's length; moved on by append. */
  keptStates(tx: Tx, subjectId: string, purposes: string[], options?: { created?: boolean }): Promise<Kept>;
  /** Appends one ledger entry and moves the kept state on by that entry, in the same transaction. */
  append(tx: Tx, subjectId: string, entry: NewLedgerEntry): void;
  /** GPC: every sale purpose still active, to withdraw as entries of the same transaction. */
  gpcWithdrawals(kept: Kept, now: Date, except?: string): string[];
  /** Appends the withdrawal of a whole purpose that a Sec-GPC: 1 signal makes (source `gpc`). */
  appendGpcWithdrawal(tx: Tx, subjectId: string, purpose: string, common: Pick<NewLedgerEntry, 'actorId' | 'requestId' | 'at' | 'gpc'>): void;
}

export function createConsent(deps: ConsentServiceDeps): Consent {
  const { db, policy, audit } = deps;
  const salePurposes = Object.entries(policy.purposes)
    .filter(([, p]) => p.sale)
    .map(([name]) => name);
  const refuse = audit.refuse;
  const ledger: store.ConsentLedgerStore = deps.store ?? store;
  const append: Consent['append'] = (tx, subjectId, entry) =>
    ledger.appendLedger(tx, subjectId, entry, (kept, seq) => applyEntry(policy.purposes[entry.purpose]!, kept ?? emptyConsent(entry.purpose), { ...entry, seq }));
  return {
    ...deps,
    deps,
    store: ledger,
    salePurposes,
    refuse,
    writes: createTransactionGroups(db, { maxGroup: 200, lock: ledger.lockSubjectLedger }),
    async resolve(ctx, caller, ref, action, purpose) {
      const subjectId = await deps.subjectOfRef(caller.clientId, ref);
      return subjectId ?? refuse(ctx, { action, purpose, reasons: [{ code: 'unknown-ref' }] }, new NotFound('no subject with this ref'));
    },
    purposeProblems(caller, purpose, scope) {
      const definition = policy.purposes[purpose];
      if (!definition) return { violations: [{ field: 'purpose', reason: 'unknown-purpose' }] };
      if (!caller.purposes.includes(purpose)) return { definition, violations: [], forbidden: true };
      const violations: Violation[] = [];
      scope.channels?.forEach(
        (c, i) => definition.channels.includes(c) || violations.push({ field: `channels[${i}]`, reason: `not a channel of ${purpose} (${definition.channels.join(', ') || 'none'})` }),
      );
      scope.topics?.forEach((t, i) => definition.topics.includes(t) || violations.push({ field: `topics[${i}]`, reason: `not a topic of ${purpose} (${definition.topics.join(', ') || 'none'})` }));
      // Recipients are names the policy declares for the purpose, like topics: caller text never reaches the ledger or the trail.
      scope.recipients?.forEach(
        (r, i) =>
          definition.recipients.includes(r) ||
          violations.push({ field: `recipients[${i}]`, reason: `not a recipient of ${purpose} (${definition.recipients.join(', ') || 'the policy declares none'})` }),
      );
      return { definition, violations };
    },
    stateOf: (purpose, entries, now) => foldConsent(purpose, policy.purposes[purpose]!, entries, now),
    keptStates: (tx, subjectId, purposes, options) => ledger.ledgerStates(tx, subjectId, purposes, options),
    append,
    gpcWithdrawals: (kept, now, except) => salePurposes.filter((p) => p !== except && consentAt(keptOf(kept, p), now).status === 'active'),
    appendGpcWithdrawal: (tx, subjectId, purpose, common) =>
      append(tx, subjectId, {
        ...common,
        id: randomUUID(),
        purpose,
        kind: 'withdraw',
        channels: null,
        topics: null,
        recipients: null,
        source: 'gpc',
        noticeVersion: null,
        expiresAt: null,
        receiptId: null,
      }),
  };
}
