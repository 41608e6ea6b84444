import type { DbClient, Tx } from '../../storage/database.ts';
import { insertRows } from '../../storage/raw-sql.ts';
import { importCountsSchema, importErrorSchema, type ImportCounts, type ImportError, type ImportFormat, type ImportView } from './schema.ts';
import { z } from 'zod';
import { Conflict } from '../../shared/errors.ts';

/** Refusals kept on a run for people to read; the count goes on past them. */
export const KEPT_ERRORS = 1000;

export interface ImportRunRow {
  id: string;
  appId: string;
  format: ImportFormat;
  status: ImportView['status'];
  dryRun: boolean;
  committedLine: number;
  committedDigest: string;
  counts: ImportCounts;
  errors: ImportError[];
  errorCount: number;
  startedBy: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

type StoredRun = Omit<ImportRunRow, 'counts' | 'errors' | 'format' | 'status'> & { counts: string; errors: string; format: string; status: string };

const toRun = (row: StoredRun): ImportRunRow => ({
  ...row,
  format: row.format as ImportFormat,
  status: row.status as ImportView['status'],
  counts: importCountsSchema.parse(JSON.parse(row.counts)),
  errors: z.array(importErrorSchema).parse(JSON.parse(row.errors)),
});

export async function insertRun(tx: Tx, run: ImportRunRow): Promise<void> {
  await tx.importRun.create({ data: { ...run, counts: JSON.stringify(run.counts), errors: JSON.stringify(run.errors) } });
}

export async function findRun(db: DbClient | Tx, id: string): Promise<ImportRunRow | undefined> {
  const row = await db.importRun.findUnique({ where: { id } });
  return row ? toRun(row) : undefined;
}

/** The app's last import that wrote (not a dry run): what `--resume` carries on. */
export async function lastRunOfApp(db: DbClient, appId: string): Promise<{ id: string; status: string } | undefined> {
  return (await db.importRun.findFirst({ where: { appId, dryRun: false }, orderBy: { startedAt: 'desc' }, select: { id: true, status: true } })) ?? undefined;
}

export async function listRuns(db: DbClient, limit: number): Promise<ImportRunRow[]> {
  return (await db.importRun.findMany({ orderBy: { startedAt: 'desc' }, take: limit })).map(toRun);
}

/**
 * How far a run has got, written in the transaction of the rows it counts, so
 * what is committed and what is counted agree; only if the run is still where
 * this process left it (`from`): two processes resuming one import cannot both
 * write a batch.
 */
export async function saveProgress(
  tx: Tx,
  run: Pick<ImportRunRow, 'id' | 'committedLine' | 'committedDigest' | 'counts' | 'errors' | 'errorCount' | 'status' | 'finishedAt'>,
  from: number,
): Promise<void> {
  const { count } = await tx.importRun.updateMany({
    where: { id: run.id, committedLine: from },
    data: {
      committedLine: run.committedLine,
      committedDigest: run.committedDigest,
      counts: JSON.stringify(run.counts),
      errors: JSON.stringify(run.errors.slice(0, KEPT_ERRORS)),
      errorCount: run.errorCount,
      status: run.status,
      updatedAt: new Date(),
      finishedAt: run.finishedAt,
    },
  });
  if (count !== 1) throw new Conflict('another process is running this import');
}

/** The CRM's ids of the people a batch wrote, as the batch's last write. */
export async function insertRefs(tx: Tx, importId: string, rows: Array<{ line: number; externalId: string; subjectId: string }>): Promise<void> {
  if (rows.length === 0) return;
  await insertRows(
    tx,
    'import_ref',
    ['import_id', 'line', 'external_id', 'subject_id'],
    rows.map((r) => [importId, r.line, r.externalId, r.subjectId]),
  );
}

/** The CRM's ids beside the app's refs, in file order, for the people still held (an erased person has neither). */
export async function refsOf(db: DbClient, importId: string, appId: string): Promise<Array<{ id: string; ref: string }>> {
  const rows = await db.importRef.findMany({ where: { importId }, orderBy: { line: 'asc' }, select: { externalId: true, subject: { select: { refs: { where: { appId }, select: { ref: true } } } } } });
  return rows.flatMap((r) => (r.subject.refs[0] ? [{ id: r.externalId, ref: r.subject.refs[0].ref }] : []));
}
