import { randomUUID } from 'node:crypto';
import { Conflict, NotFound, SubjectGone } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { isUniqueViolation, type Database } from '../../storage/database.ts';
import { releaseLease, takeLease } from '../../storage/job-lease.ts';
import type { AppCaller } from '../subjects/service.ts';
import type { CsvMapping } from './csv-mapping.ts';
import { identityKeys, planRow, type RowCheckers, type RowPlan } from './row-plan.ts';
import { emptyCounts, type ImportCounts, type ImportFormat } from './schema.ts';
import { CHAIN_START, chainDigest, ImportFileError, readRows } from './source.ts';
import * as store from './store.ts';
import { writeBatch, type BatchWriters } from './write-batch.ts';

/** Rows a transaction writes at most: small enough that live writers wait for one batch only, large enough to share each commit. */
export const BATCH_ROWS = 200;

export interface ImportDeps extends RowCheckers {
  db: Database;
  writers: BatchWriters;
  /** How long an import's hold on its app lasts unless renewed (each batch renews it). */
  leaseMs: number;
}

export interface ImportRequest {
  caller: AppCaller;
  file: string;
  format: ImportFormat;
  mapping?: CsvMapping;
  dryRun: boolean;
  maxErrors?: number;
  /** An import to carry on: its committed lines are skipped, once checked to be the lines of this file. */
  resume?: string;
  /** The id a new import takes (the HTTP route answers it before the run starts). */
  id?: string;
  signal?: AbortSignal;
  /** Called once the run is written and holds its app (a resumed run: once it holds the app again). */
  onStarted?: (run: store.ImportRunRow) => void;
  onProgress?: (run: store.ImportRunRow) => void;
}

/** Thrown out of a dry run's transaction so that it rolls back; it carries what the batch did. */
class DryRun extends Error {
  constructor(readonly outcome: store.ImportRunRow) {
    super('dry run');
  }
}

export class ImportStopped extends Error {
  override name = 'ImportStopped';
}

/**
 * Imports a file for an app: checked whole first (ImportFileError before
 * anything is written), then read again row by row, in batches, each one
 * transaction holding its rows' writes, their audit events and the run's
 * progress (committed line, digest chain, counts), so a run killed at any
 * point has committed whole batches only and resumes after the last. A dry
 * run does every write of a real one in transactions that roll back, and
 * writes no run either. One import per app at a time (a lease its batches renew).
 */
export async function runImport(deps: ImportDeps, ctx: RequestContext, request: ImportRequest): Promise<store.ImportRunRow> {
  const { db } = deps;
  const { caller, dryRun } = request;
  const now = () => new Date();
  let run: store.ImportRunRow;
  if (request.resume) {
    const previous = await store.findRun(db.read, request.resume);
    if (!previous || previous.appId !== caller.clientId) throw new NotFound('no import with this id for this app');
    if (previous.dryRun) throw new Conflict('a dry run wrote nothing to resume; run the import itself');
    if (previous.format !== request.format) throw new ImportFileError([{ path: 'format', message: `the import read ${previous.format}` }]);
    if (previous.status === 'completed') return previous;
    run = { ...previous, status: 'running', finishedAt: null };
  } else {
    const at = now();
    run = {
      id: request.id ?? `imp_${randomUUID()}`,
      appId: caller.clientId,
      format: request.format,
      status: 'running',
      dryRun,
      committedLine: 0,
      committedDigest: CHAIN_START,
      counts: emptyCounts(),
      errors: [],
      errorCount: 0,
      startedBy: ctx.actor.id ?? null,
      startedAt: at,
      updatedAt: at,
      finishedAt: null,
    };
  }
  const leaseName = `import:${caller.clientId}`;
  if (!dryRun) {
    // The run's own id holds the lease, so a resumed run takes over at once from one that was killed.
    if (!(await takeLease(db, leaseName, run.id, deps.leaseMs))) throw new Conflict('another import for this app is running; wait for it to end, or resume it');
    if (!request.resume) await db.transaction((tx) => store.insertRun(tx, run));
  }
  request.onStarted?.(run);
  let leaseRenewedAt = Date.now();
  const renewLease = async () => {
    if (dryRun || Date.now() - leaseRenewedAt < deps.leaseMs / 3) return;
    if (!(await takeLease(db, leaseName, run.id, deps.leaseMs))) throw new Conflict('this import lost its hold on the app to another import');
    leaseRenewedAt = Date.now();
  };

  const resumeAt = run.committedLine;
  // A resumed run carries on only once it has read the lines the import committed, and found them the same.
  let resumedAfter = resumeAt === 0;
  const notTheFile = () => new ImportFileError([{ path: 'file', message: `is not the file the import read: it has no line ${resumeAt} with the rows it committed` }]);
  let chain = CHAIN_START;
  let batch: RowPlan[] = [];
  let batchKeys = new Set<string>();
  let pending = { line: run.committedLine, chain: run.committedDigest, errors: [] as store.ImportRunRow['errors'], refused: 0 };

  const commit = async (status: store.ImportRunRow['status']) => {
    const plans = batch;
    const through = pending;
    batch = [];
    batchKeys = new Set();
    pending = { line: through.line, chain: through.chain, errors: [], refused: 0 };
    const merge = (outcome: Awaited<ReturnType<typeof writeBatch>>) => {
      const counts: ImportCounts = { ...run.counts };
      for (const [key, n] of Object.entries(outcome.counts) as Array<[keyof ImportCounts, number]>) counts[key] += n;
      counts.refused += through.refused;
      // Refusals in file order: those found before the batch's transaction and those found in it.
      const errors = [...through.errors, ...outcome.errors].sort((a, b) => a.line - b.line);
      return {
        ...run,
        status,
        committedLine: through.line,
        committedDigest: through.chain,
        counts,
        errors: [...run.errors, ...errors].slice(0, store.KEPT_ERRORS),
        errorCount: run.errorCount + errors.length,
        finishedAt: status === 'running' ? null : now(),
        updatedAt: now(),
      };
    };
    const attempt = () =>
      db
        .transaction(async (tx) => {
          const outcome = await writeBatch(deps.writers, tx, ctx, caller, run.id, plans, now());
          const next = merge(outcome);
          if (dryRun) throw new DryRun(next);
          await store.insertRefs(tx, run.id, outcome.refs);
          await store.saveProgress(tx, next, run.committedLine);
          return next;
        })
        .catch((error: unknown) => {
          if (error instanceof DryRun) return error.outcome;
          throw error;
        });
    try {
      run = await attempt();
    } catch (error) {
      // Two writers created the same new person at once, or a person the batch matched was erased as it wrote
      // (nothing of the batch was kept): the batch is decided again on what is there now.
      if (!(isUniqueViolation(error) || error instanceof SubjectGone)) throw error;
      run = await attempt();
    }
    request.onProgress?.(run);
  };

  try {
    for await (const row of readRows(request.file, request.format, request.mapping)) {
      if (request.signal?.aborted) throw new ImportStopped('the import was stopped before it finished; resume it to carry on');
      chain = chainDigest(chain, row.raw);
      if (row.line <= resumeAt) {
        if (row.line === resumeAt) {
          if (chain !== run.committedDigest) throw new ImportFileError([{ path: `line ${row.line}`, message: 'this is not the file the import read: the lines it committed differ' }]);
          resumedAfter = true;
        }
        continue;
      }
      if (!resumedAfter) throw notTheFile();
      const checked = planRow(deps, caller, row.line, row.record, now());
      if ('plan' in checked) {
        const keys = identityKeys(checked.plan);
        // The same person twice in one batch: the batch ends before the second, which then sees the first committed.
        if (keys.some((k) => batchKeys.has(k))) {
          await renewLease();
          await commit('running');
        }
        batch.push(checked.plan);
        for (const k of keys) batchKeys.add(k);
      } else {
        pending.errors.push(...checked.errors);
        pending.refused++;
      }
      pending.line = row.line;
      pending.chain = chain;
      const refusedSoFar = run.counts.refused + pending.refused;
      if (request.maxErrors !== undefined && refusedSoFar >= request.maxErrors) {
        await commit('stopped');
        return finish();
      }
      if (batch.length + pending.refused >= BATCH_ROWS) {
        await renewLease();
        await commit('running');
      }
    }
    if (!resumedAfter) throw notTheFile();
    await commit('completed');
    return finish();
  } catch (error) {
    // What was committed stays; the run says it ended early, and can be resumed.
    if (!dryRun) {
      await db.transaction((tx) => store.saveProgress(tx, { ...run, status: 'failed', finishedAt: now() }, run.committedLine)).catch(() => undefined);
      await releaseLease(db, leaseName, run.id).catch(() => undefined);
    }
    throw error;
  }

  async function finish(): Promise<store.ImportRunRow> {
    if (!dryRun) await releaseLease(db, leaseName, run.id);
    return run;
  }
}
