import type { DbClient, Tx } from '../../storage/database.ts';
import { insertRows, query } from '../../storage/raw-sql.ts';
import { instant, type SqlInstant } from '../../storage/sql-values.ts';

export interface RequestRow {
  id: string;
  type: string;
  status: string;
  identifierKind: string;
  identifierDigest: string;
  submitterDigest: string | null;
  sealedIdentifier: string | null;
  sealedCorrection: string | null;
  scope: string | null;
  gpc: boolean;
  tokenHash: string;
  codeHash: string | null;
  codeExpiresAt: Date | null;
  codeAttempts: number;
  subjects: string | null;
  decisionReason: string | null;
  dueAt: Date;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
}

export interface StepRow {
  requestId: string;
  seq: number;
  step: string;
  actorType: string;
  actorId: string | null;
  detail: string | null;
  at: Date;
}

const REQUEST_COLUMNS: Array<[keyof RequestRow, string]> = [
  ['id', 'id'],
  ['type', 'type'],
  ['status', 'status'],
  ['identifierKind', 'identifier_kind'],
  ['identifierDigest', 'identifier_digest'],
  ['submitterDigest', 'submitter_digest'],
  ['sealedIdentifier', 'sealed_identifier'],
  ['sealedCorrection', 'sealed_correction'],
  ['scope', 'scope'],
  ['gpc', 'gpc'],
  ['tokenHash', 'token_hash'],
  ['codeHash', 'code_hash'],
  ['codeExpiresAt', 'code_expires_at'],
  ['codeAttempts', 'code_attempts'],
  ['subjects', 'subjects'],
  ['decisionReason', 'decision_reason'],
  ['dueAt', 'due_at'],
  ['createdAt', 'created_at'],
  ['updatedAt', 'updated_at'],
  ['closedAt', 'closed_at'],
];

// Submissions are the hot write of this module: plain SQL (run natively on SQLite), not the Prisma client.
export async function insertRequest(tx: Tx, row: RequestRow): Promise<void> {
  await insertRows(
    tx,
    'privacy_request',
    REQUEST_COLUMNS.map(([, column]) => column),
    [REQUEST_COLUMNS.map(([key]) => row[key])],
  );
}

export async function findRequest(db: DbClient | Tx, id: string): Promise<RequestRow | undefined> {
  return (await db.privacyRequest.findUnique({ where: { id } })) ?? undefined;
}

/**
 * Moves a request on only from the status the caller read (optimistic
 * concurrency): two verifications or two decisions racing cannot both apply.
 */
export async function updateRequest(tx: Tx, id: string, from: string | { status: string; codeAttempts: number }, data: Partial<Omit<RequestRow, 'id'>>): Promise<boolean> {
  const { count } = await tx.privacyRequest.updateMany({ where: { id, ...(typeof from === 'string' ? { status: from } : from) }, data });
  return count === 1;
}

/** The requests for an identifier since `since`: how many, from this submitter and in all, and the oldest of each (when a slot frees). */
export async function countRecentForIdentifier(tx: Tx, digest: string, since: Date, submitter: string): Promise<RecentRequests> {
  const rows = await query<{ createdAt: SqlInstant; submitter: string | null }>(
    tx,
    'SELECT created_at AS "createdAt", submitter_digest AS "submitter" FROM privacy_request WHERE identifier_digest = ? AND created_at >= ? ORDER BY created_at',
    [digest, since],
  );
  const mine = rows.filter((r) => r.submitter === submitter);
  return { all: rows.length, oldest: rows[0] ? instant(rows[0].createdAt) : undefined, fromSubmitter: mine.length, oldestFromSubmitter: mine[0] ? instant(mine[0].createdAt) : undefined };
}

export interface RecentRequests {
  all: number;
  oldest: Date | undefined;
  fromSubmitter: number;
  oldestFromSubmitter: Date | undefined;
}

/** `firstSeq` when the caller knows it (a new request starts at 1); otherwise after the last step. */
export async function appendSteps(tx: Tx, requestId: string, steps: Array<Omit<StepRow, 'requestId' | 'seq'>>, firstSeq?: number): Promise<void> {
  if (steps.length === 0) return;
  const first = firstSeq ?? ((await tx.privacyRequestStep.findFirst({ where: { requestId }, orderBy: { seq: 'desc' }, select: { seq: true } }))?.seq ?? 0) + 1;
  await insertRows(
    tx,
    'privacy_request_step',
    ['request_id', 'seq', 'step', 'actor_type', 'actor_id', 'detail', 'at'],
    steps.map((s, i) => [requestId, first + i, s.step, s.actorType, s.actorId, s.detail, s.at]),
  );
}

export async function stepsOf(db: DbClient, requestId: string): Promise<StepRow[]> {
  return db.privacyRequestStep.findMany({ where: { requestId }, orderBy: { seq: 'asc' } });
}

/** The officers' queue: by due date, then id; `after` is the last row of the previous page. */
export async function queuePage(
  db: DbClient,
  filter: { status?: string; type?: string; overdueAt?: Date; openStatuses: string[]; after?: { at: Date; id: string } },
  limit: number,
): Promise<RequestRow[]> {
  return db.privacyRequest.findMany({
    where: {
      AND: [
        filter.status ? { status: filter.status } : {},
        filter.type ? { type: filter.type } : {},
        filter.overdueAt ? { dueAt: { lt: filter.overdueAt }, status: { in: filter.openStatuses } } : {},
        filter.after ? { OR: [{ dueAt: { gt: filter.after.at } }, { dueAt: filter.after.at, id: { gt: filter.after.id } }] } : {},
      ],
    },
    orderBy: [{ dueAt: 'asc' }, { id: 'asc' }],
    take: limit,
  });
}

/** Requests left verified but not carried on (a crash between the two steps): the sweep resumes them. */
export async function stuckVerified(db: DbClient, before: Date, limit: number): Promise<string[]> {
  return stuckIn(db, 'verified', before, limit);
}

/** Requests approved but not completed since `before`: a crash between the decision and its effect. */
export async function stuckApproved(db: DbClient, before: Date, limit: number): Promise<string[]> {
  return stuckIn(db, 'approved', before, limit);
}

async function stuckIn(db: DbClient, status: string, before: Date, limit: number): Promise<string[]> {
  return (await db.privacyRequest.findMany({ where: { status, updatedAt: { lt: before } }, select: { id: true }, take: limit })).map((r) => r.id);
}

/** Requests whose code ran out before anyone entered it (the sweep closes them). */
export async function expiredUnverified(db: DbClient, now: Date, limit: number): Promise<RequestRow[]> {
  return db.privacyRequest.findMany({ where: { status: 'pending-verification', codeExpiresAt: { lt: now } }, take: limit });
}

/** The storage the request operations use: this module's SQL functions, or an in-memory fake for unit tests (test/requests/fake-store.ts). */
export interface RequestStore {
  insertRequest: typeof insertRequest;
  findRequest: typeof findRequest;
  updateRequest: typeof updateRequest;
  countRecentForIdentifier: typeof countRecentForIdentifier;
  appendSteps: typeof appendSteps;
  stepsOf: typeof stepsOf;
  queuePage: typeof queuePage;
  stuckVerified: typeof stuckVerified;
  stuckApproved: typeof stuckApproved;
  expiredUnverified: typeof expiredUnverified;
}
