import type { DbClient, Tx } from '../../storage/database.ts';

export interface RequestRow {
  id: string;
  type: string;
  status: string;
  identifierKind: string;
  identifierDigest: string;
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

export async function insertRequest(tx: Tx, row: RequestRow): Promise<void> {
  await tx.privacyRequest.create({ data: row });
}

export async function findRequest(db: DbClient | Tx, id: string): Promise<RequestRow | undefined> {
  return (await db.privacyRequest.findUnique({ where: { id } })) ?? undefined;
}

/**
 * Moves a request on only from the status the caller read (optimistic
 * concurrency): two verifications or two decisions racing cannot both apply.
 */
export async function updateRequest(tx: Tx, id: string, fromStatus: string, data: Partial<Omit<RequestRow, 'id'>>): Promise<boolean> {
  const { count } = await tx.privacyRequest.updateMany({ where: { id, status: fromStatus }, data });
  return count === 1;
}

export async function countRecentForIdentifier(db: DbClient | Tx, digest: string, since: Date): Promise<{ count: number; oldest: Date | undefined }> {
  const rows = await db.privacyRequest.findMany({ where: { identifierDigest: digest, createdAt: { gte: since } }, select: { createdAt: true }, orderBy: { createdAt: 'asc' } });
  return { count: rows.length, oldest: rows[0]?.createdAt };
}

export async function appendSteps(tx: Tx, requestId: string, steps: Array<Omit<StepRow, 'requestId' | 'seq'>>): Promise<void> {
  if (steps.length === 0) return;
  const last = await tx.privacyRequestStep.findFirst({ where: { requestId }, orderBy: { seq: 'desc' }, select: { seq: true } });
  const first = (last?.seq ?? 0) + 1;
  await tx.privacyRequestStep.createMany({ data: steps.map((s, i) => ({ ...s, requestId, seq: first + i })) });
}

export async function stepsOf(db: DbClient, requestId: string): Promise<StepRow[]> {
  return db.privacyRequestStep.findMany({ where: { requestId }, orderBy: { seq: 'asc' } });
}

/** The officers' queue: by due date, then id; `after` is the last row of the previous page. */
export async function queuePage(db: DbClient, filter: { status?: string; type?: string; overdueAt?: Date; openStatuses: string[]; after?: { dueAt: Date; id: string } }, limit: number): Promise<RequestRow[]> {
  return db.privacyRequest.findMany({
    where: {
      AND: [
        filter.status ? { status: filter.status } : {},
        filter.type ? { type: filter.type } : {},
        filter.overdueAt ? { dueAt: { lt: filter.overdueAt }, status: { in: filter.openStatuses } } : {},
        filter.after ? { OR: [{ dueAt: { gt: filter.after.dueAt } }, { dueAt: filter.after.dueAt, id: { gt: filter.after.id } }] } : {},
      ],
    },
    orderBy: [{ dueAt: 'asc' }, { id: 'asc' }],
    take: limit,
  });
}

/** Requests whose code ran out before anyone entered it (the sweep closes them). */
export async function expiredUnverified(db: DbClient, now: Date, limit: number): Promise<RequestRow[]> {
  return db.privacyRequest.findMany({ where: { status: 'pending-verification', codeExpiresAt: { lt: now } }, take: limit });
}
