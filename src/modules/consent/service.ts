// Over 300 lines on purpose: grants, withdrawals and a customer's own opt-out are the ledger's
// three write paths, and they share one append step (ledger entry and kept state together, under
// the subject's lock); reads are in reads.ts.
import { randomUUID } from 'node:crypto';
import type { SigningKey } from '../../crypto/signing-key.ts';
import { Forbidden, NotFound, PolicyViolation } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database, Tx } from '../../storage/database.ts';
import { createTransactionGroups } from '../../storage/grouped-transactions.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { Policy, PurposeDefinition } from '../policies/schema.ts';
import { signConsentReceipt } from './receipt.ts';
import type { ConsentGrantInput, ConsentHistoryEntry, ConsentState, ConsentWithdrawInput } from './schema.ts';
import { applyEntry, consentAt, describeHistory, emptyConsent, foldConsent, type LedgerEntry } from './state.ts';
import { createConsentReads, foldLegacyLedgers } from './reads.ts';
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
}

/** A request's context as far as consent cares: did the person's browser send Sec-GPC: 1? */
export interface ConsentSignals {
  gpc: boolean;
}

type Violation = { field: string; reason: string };

export function createConsentService(deps: ConsentServiceDeps) {
  const { db, policy, audit } = deps;
  // Purposes a Global Privacy Control signal opts out of: those that sell or share personal data.
  const salePurposes = Object.entries(policy.purposes)
    .filter(([, p]) => p.sale)
    .map(([name]) => name);

  const refuse = audit.refuse;

  async function resolve(ctx: RequestContext, caller: ConsentCaller, ref: string, action: string, purpose?: string): Promise<string> {
    const subjectId = await deps.subjectOfRef(caller.clientId, ref);
    return subjectId ?? refuse(ctx, { action, purpose, reasons: [{ code: 'unknown-ref' }] }, new NotFound('no subject with this ref'));
  }

  function purposeProblems(
    caller: ConsentCaller,
    purpose: string,
    scope: { channels?: string[]; topics?: string[]; recipients?: string[] },
  ): { definition?: PurposeDefinition; violations: Violation[]; forbidden?: boolean } {
    const definition = policy.purposes[purpose];
    if (!definition) return { violations: [{ field: 'purpose', reason: 'unknown-purpose' }] };
    if (!caller.purposes.includes(purpose)) return { definition, violations: [], forbidden: true };
    const violations: Violation[] = [];
    scope.channels?.forEach(
      (c, i) => definition.channels.includes(c) || violations.push({ field: `channels[${i}]`, reason: `not a channel of ${purpose} (${definition.channels.join(', ') || 'none'})` }),
    );
    scope.topics?.forEach((t, i) => definition.topics.includes(t) || violations.push({ field: `topics[${i}]`, reason: `not a topic of ${purpose} (${definition.topics.join(', ') || 'none'})` }));
    // Recipients are checked against the policy when it lists them for the purpose.
    if (definition.recipients.length > 0) {
      scope.recipients?.forEach(
        (r, i) => definition.recipients.includes(r) || violations.push({ field: `recipients[${i}]`, reason: `not a recipient of ${purpose} (${definition.recipients.join(', ')})` }),
      );
    }
    return { definition, violations };
  }

  function stateOf(purpose: string, entries: LedgerEntry[], now: Date): ConsentState {
    return foldConsent(purpose, policy.purposes[purpose]!, entries, now);
  }

  // Grants and withdrawals that arrive together share one transaction (one commit), as authorizations
  // do; each subject's ledger lock is taken before any write of the group.
  const writes = createTransactionGroups(db, { maxGroup: 200, lock: store.lockSubjectLedger });

  type Kept = ReadonlyMap<string, ConsentState>;
  const keptOf = (kept: Kept, purpose: string) => kept.get(purpose) ?? emptyConsent(purpose);

  /** The kept states of some purposes, read under the ledger lock: one row each, whatever the ledger's length; moved on by append. */
  const keptStates = (tx: Tx, subjectId: string, purposes: string[]): Promise<Kept> => store.ledgerStates(tx, subjectId, purposes);

  /** Appends one ledger entry and moves the kept state on by that entry, in the same transaction. */
  function append(tx: Tx, subjectId: string, entry: Omit<LedgerEntry, 'seq'> & { id: string; actorId: string | null; requestId: string | null; receipt?: string }): void {
    store.appendLedger(tx, subjectId, entry, (kept, seq) => applyEntry(policy.purposes[entry.purpose]!, kept ?? emptyConsent(entry.purpose), { ...entry, seq }));
  }

  /** GPC: withdraw every sale purpose that is still active, as entries of the same transaction. */
  function gpcWithdrawals(kept: Kept, now: Date, except?: string): string[] {
    return salePurposes.filter((p) => p !== except && consentAt(keptOf(kept, p), now).status === 'active');
  }

  async function grant(ctx: RequestContext, caller: ConsentCaller, ref: string, purpose: string, input: ConsentGrantInput, signals: ConsentSignals) {
    const action = 'consent.grant';
    const event = { action, purpose, reasons: [] as Array<{ code: string; detail?: string }> };
    const subjectId = await resolve(ctx, caller, ref, action, purpose);
    const problems = purposeProblems(caller, purpose, input);
    if (problems.forbidden) return refuse(ctx, { ...event, subject: subjectId, reasons: [{ code: 'purpose-not-granted' }] }, new Forbidden('this app is not granted the purpose it asks consent for'));
    const violations = [...problems.violations];
    const definition = problems.definition;
    if (definition && definition.basis !== 'consent') {
      violations.push({ field: 'purpose', reason: `the purpose's lawful basis is ${definition.basis}, not consent; it is not gated by consent, so there is nothing to grant` });
    }
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    const now = new Date();
    if (expiresAt && expiresAt.getTime() <= now.getTime()) violations.push({ field: 'expiresAt', reason: 'is in the past' });
    if (definition?.sale && signals.gpc) {
      violations.push({ field: 'purpose', reason: 'the request carries Sec-GPC: 1, which opts out of the sale or sharing of personal data; it cannot also consent to it' });
    }
    if (violations.length > 0) {
      return refuse(
        ctx,
        { ...event, subject: subjectId, reasons: violations.map((v) => ({ code: 'invalid-consent', detail: v.field })) },
        new PolicyViolation(violations.map((v) => `${v.field}: ${v.reason}`).join('; '), violations),
      );
    }

    const receiptId = randomUUID();
    const receipt = await signConsentReceipt(deps.signingKey, {
      receiptId,
      principal: ref,
      purpose,
      definition: definition!,
      fields: policy.fields,
      channels: input.channels ?? definition!.channels,
      topics: input.topics ?? definition!.topics,
      recipients: input.recipients ?? [],
      source: input.source,
      noticeVersion: input.noticeVersion,
      expiresAt,
      at: now,
      issuer: deps.issuer,
      policyUrl: deps.policyUrl,
      jurisdiction: policy.defaults.region,
    });
    const state = await audit.unlessErased(
      ctx,
      { action, subject: subjectId, purpose },
      writes.run(subjectId, async (tx) => {
        const kept = await keptStates(tx, subjectId, [purpose, ...(signals.gpc ? salePurposes : [])]);
        const at = new Date();
        const gpcPurposes = signals.gpc ? gpcWithdrawals(kept, at, purpose) : [];
        const common = { actorId: ctx.actor.id ?? null, requestId: ctx.requestId, at, gpc: signals.gpc };
        for (const p of gpcPurposes) {
          append(tx, subjectId, {
            ...common,
            id: randomUUID(),
            purpose: p,
            kind: 'withdraw',
            channels: null,
            topics: null,
            recipients: null,
            source: 'gpc',
            noticeVersion: null,
            expiresAt: null,
            receiptId: null,
          });
        }
        append(tx, subjectId, {
          ...common,
          id: randomUUID(),
          purpose,
          kind: 'grant' as const,
          channels: input.channels ?? null,
          topics: input.topics ?? null,
          recipients: input.recipients ?? null,
          source: input.source,
          noticeVersion: input.noticeVersion,
          expiresAt,
          receiptId,
          receipt,
        });
        for (const p of gpcPurposes) await appendAuditEvent(tx, ctx, { action: 'consent.withdraw', decision: 'info', subject: subjectId, purpose: p, reasons: [{ code: 'gpc' }] });
        await appendAuditEvent(tx, ctx, {
          action,
          decision: 'allow',
          subject: subjectId,
          purpose,
          reasons: [
            { code: 'receipt', detail: receiptId },
            { code: 'notice', detail: input.noticeVersion },
          ],
        });
        return consentAt(keptOf(kept, purpose), at);
      }),
    );
    return { state, receipt };
  }

  async function withdraw(ctx: RequestContext, caller: ConsentCaller, ref: string, purpose: string, input: ConsentWithdrawInput, signals: ConsentSignals) {
    const action = 'consent.withdraw';
    const subjectId = await resolve(ctx, caller, ref, action, purpose);
    const problems = purposeProblems(caller, purpose, input);
    if (problems.forbidden) return refuse(ctx, { action, purpose, subject: subjectId, reasons: [{ code: 'purpose-not-granted' }] }, new Forbidden('this app is not granted this purpose'));
    if (problems.violations.length > 0) {
      return refuse(
        ctx,
        { action, purpose, subject: subjectId, reasons: problems.violations.map((v) => ({ code: 'invalid-withdrawal', detail: v.field })) },
        new PolicyViolation(problems.violations.map((v) => `${v.field}: ${v.reason}`).join('; '), problems.violations),
      );
    }
    const state = await audit.unlessErased(
      ctx,
      { action, subject: subjectId, purpose },
      writes.run(subjectId, async (tx) => {
        const kept = await keptStates(tx, subjectId, [purpose, ...(signals.gpc ? salePurposes : [])]);
        const at = new Date();
        const before = consentAt(keptOf(kept, purpose), at);
        const common = { actorId: ctx.actor.id ?? null, requestId: ctx.requestId, at, gpc: signals.gpc };
        // Withdrawing what is not in force is answered with the state, audited, and leaves the ledger as it is.
        if (before.status === 'active') {
          append(tx, subjectId, {
            ...common,
            id: randomUUID(),
            purpose,
            kind: 'withdraw' as const,
            channels: input.channels ?? null,
            topics: input.topics ?? null,
            recipients: input.recipients ?? null,
            source: input.source,
            noticeVersion: null,
            expiresAt: null,
            receiptId: null,
          });
        }
        for (const p of signals.gpc ? gpcWithdrawals(kept, at, purpose) : []) {
          append(tx, subjectId, {
            ...common,
            id: randomUUID(),
            purpose: p,
            kind: 'withdraw' as const,
            channels: null,
            topics: null,
            recipients: null,
            source: 'gpc',
            noticeVersion: null,
            expiresAt: null,
            receiptId: null,
          });
          await appendAuditEvent(tx, ctx, { action, decision: 'info', subject: subjectId, purpose: p, reasons: [{ code: 'gpc' }] });
        }
        const scope = [
          ...(input.channels ?? []).map((c) => ({ code: 'channel', detail: c })),
          ...(input.topics ?? []).map((t) => ({ code: 'topic', detail: t })),
          // Recipient names are caller text; the trail keeps how many, not which.
          ...(input.recipients ? [{ code: 'recipients', detail: String(input.recipients.length) }] : []),
        ];
        await appendAuditEvent(tx, ctx, { action, decision: 'allow', subject: subjectId, purpose, reasons: before.status === 'active' ? scope : [{ code: 'nothing-in-force' }] });
        return consentAt(keptOf(kept, purpose), at);
      }),
    );
    return { state };
  }

  async function list(ctx: RequestContext, caller: ConsentCaller, ref: string): Promise<{ ref: string; purposes: ConsentState[]; history: ConsentHistoryEntry[] }> {
    const action = 'consent.list';
    const subjectId = await resolve(ctx, caller, ref, action);
    const entries = await store.readLedger(db.read, subjectId);
    const now = new Date();
    const visible = caller.purposes.filter((p) => policy.purposes[p]);
    const result = {
      ref,
      purposes: visible.map((p) => stateOf(p, entries, now)),
      history: describeHistory(
        entries.filter((e) => visible.includes(e.purpose)),
        now,
      ),
    };
    await audit.record(ctx, { action, decision: 'allow', subject: subjectId, fields: [], reasons: [{ code: 'purposes', detail: visible.join(',') }] });
    return result;
  }

  /**
   * A customer's own opt-out (a verified privacy request, or GPC on one):
   * withdraws each named purpose that is in force, narrowed as given, in one
   * transaction under the subject's ledger lock, each audited. Answers the
   * purposes whose consent changed.
   */
  async function withdrawForSubject(ctx: RequestContext, subjectId: string, withdrawals: Array<{ purpose: string; channels?: string[]; topics?: string[] }>, source: string): Promise<string[]> {
    return writes.run(subjectId, async (tx) => {
      const kept = await keptStates(
        tx,
        subjectId,
        withdrawals.map((w) => w.purpose),
      );
      const at = new Date();
      const changed: string[] = [];
      for (const w of withdrawals) {
        if (policy.purposes[w.purpose]?.basis !== 'consent' || consentAt(keptOf(kept, w.purpose), at).status !== 'active') continue;
        append(tx, subjectId, {
          id: randomUUID(),
          purpose: w.purpose,
          kind: 'withdraw' as const,
          channels: w.channels ?? null,
          topics: w.topics ?? null,
          recipients: null,
          source,
          noticeVersion: null,
          expiresAt: null,
          receiptId: null,
          actorId: ctx.actor.id ?? null,
          requestId: ctx.requestId,
          at,
          gpc: source === 'gpc',
        });
        changed.push(w.purpose);
        const scope = [...(w.channels ?? []).map((c) => ({ code: 'channel', detail: c })), ...(w.topics ?? []).map((t) => ({ code: 'topic', detail: t }))];
        await appendAuditEvent(tx, ctx, { action: 'consent.withdraw', decision: 'allow', subject: subjectId, purpose: w.purpose, reasons: [{ code: source }, ...scope] });
      }
      return changed;
    });
  }

  return {
    ...createConsentReads(db, policy),
    foldLegacyLedgers: () => foldLegacyLedgers(db, policy),
    grant,
    withdraw,
    list,
    withdrawForSubject,
    eraseSubjectRows: (tx: Tx, subjectId: string) => store.deleteLedger(tx, subjectId),
    /** The lock every grant and withdrawal of the subject takes first; an erasure takes it before it holds the subject. */
    lockSubject: (tx: Tx, subjectId: string) => store.lockSubjectLedger(tx, [subjectId]),
    lastEntryPerPurpose: (subjectIds: string[]) => store.lastEntryPerPurpose(db.read, subjectIds),
  };
}

export type ConsentService = ReturnType<typeof createConsentService>;
