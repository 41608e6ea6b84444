import { TooManyRequests } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appendAuditEvent } from '../audit/service.ts';
import { addDuration } from '../policies/duration.ts';
import { codeMessage } from './messages.ts';
import type { Requests } from './requests.ts';
import type { RequestStatus, Submission } from './schema.ts';
import { CODE_LIFETIME_MS, codeHash, newCode, newRequestId, newStatusToken, submitterHash, tokenHash } from './secrets.ts';
import { DELIVERY, validateSubmission } from './submission-rules.ts';

const HOUR_MS = 3600 * 1000;

/**
 * A customer's submission. It never looks at subjects, so its answer, its
 * writes and its timing are the same whether or not Custos holds the
 * identifier. Submissions share transactions (one commit for many): each
 * counts the identifier's recent requests inside it, so two in one group see
 * each other.
 */
export async function submit(
  r: Requests,
  ctx: RequestContext,
  input: Submission,
  signals: { gpc: boolean; address: string },
): Promise<{ id: string; status: RequestStatus; statusToken: string; dueAt: string }> {
  const { policy, audit, pseudonyms, notifier, store, deadline, submissions, customer, sealFor, deps } = r;
  const { kind, normalized, correction } = validateSubmission(policy, pseudonyms, input);
  const digest = (await pseudonyms.currentDigest(kind, normalized)).digest;
  const id = newRequestId();
  const ctxOf = customer(ctx, id);
  const now = new Date();
  const token = newStatusToken();
  const code = newCode();
  const codeExpiresAt = new Date(now.getTime() + CODE_LIFETIME_MS);
  const dueAt = addDuration(now, deadline);
  const submitter = submitterHash(deps.secretKey, signals.address);
  // Submissions share transactions (one commit for many): each counts the identifier's recent
  // requests inside it, so two in one group see each other. The cap counts per identifier and
  // submitting address, so a party asking for someone else's number uses up only its own share and
  // the person can still make their own request; the ceiling over every address bounds the
  // messages a number receives in an hour, however many addresses ask for it.
  const limited = await submissions.run(undefined, async (tx) => {
    const recent = await store.countRecentForIdentifier(tx, digest, new Date(now.getTime() - HOUR_MS), submitter);
    const { perIdentifierPerHour, perIdentifierCeilingPerHour } = deps.settings;
    if (recent.fromSubmitter >= perIdentifierPerHour) return { retryAfterMs: recent.oldestFromSubmitter!.getTime() + HOUR_MS - now.getTime() };
    if (recent.all >= perIdentifierCeilingPerHour) return { retryAfterMs: recent.oldest!.getTime() + HOUR_MS - now.getTime() };
    await store.insertRequest(tx, {
      id,
      type: input.type,
      status: 'pending-verification',
      identifierKind: kind,
      identifierDigest: digest,
      submitterDigest: submitter,
      sealedIdentifier: sealFor(id, { identifier: normalized, correction }),
      sealedCorrection: null,
      scope: input.scope ? JSON.stringify(input.scope) : null,
      gpc: signals.gpc,
      tokenHash: tokenHash(deps.secretKey, token),
      codeHash: codeHash(deps.secretKey, id, code),
      codeExpiresAt,
      codeAttempts: 0,
      subjects: null,
      decisionReason: null,
      dueAt,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
    });
    const channel = DELIVERY[kind]!;
    await notifier.enqueue(tx, { requestId: id, channel, to: normalized, ...codeMessage(input.locale ?? 'en', code, CODE_LIFETIME_MS / 60_000), expiresAt: codeExpiresAt });
    await store.appendSteps(
      tx,
      id,
      [
        { step: 'submitted', actorType: 'customer', actorId: null, detail: signals.gpc ? 'with Sec-GPC: 1' : null, at: now },
        { step: 'code-sent', actorType: 'system', actorId: null, detail: channel, at: now },
      ],
      1,
    );
    await appendAuditEvent(tx, ctxOf, {
      action: 'requests.request.submit',
      decision: 'info',
      reasons: [{ code: input.type }, { code: 'identifier', detail: `${kind}:${digest}` }, ...(signals.gpc ? [{ code: 'gpc' }] : [])],
    });
    await appendAuditEvent(tx, ctxOf, { action: 'requests.code.send', decision: 'info', reasons: [{ code: channel }] });
    return undefined;
  });
  if (limited) {
    return audit.refuse(
      ctxOf,
      { action: 'requests.request.submit', reasons: [{ code: 'rate-limited' }, { code: 'identifier', detail: `${kind}:${digest}` }] },
      new TooManyRequests('too many requests for this identifier in the last hour; wait before asking again', limited.retryAfterMs / 1000),
    );
  }
  return { id, status: 'pending-verification', statusToken: token, dueAt: dueAt.toISOString() };
}
