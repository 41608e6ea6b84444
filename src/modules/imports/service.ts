import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { NotFound, PayloadTooLarge } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { ConsentService } from '../consent/service.ts';
import type { ContactService } from '../contacts/service.ts';
import type { DoNotCall } from '../dnc/service.ts';
import type { Policy } from '../policies/schema.ts';
import type { SubjectService } from '../subjects/service.ts';
import { csvMappingOf, loadCsvMapping, type CsvMapping } from './csv-mapping.ts';
import { runImport, type ImportRequest } from './run.ts';
import type { ImportFormat, ImportView } from './schema.ts';
import { checkFile, ImportFileError } from './source.ts';
import * as store from './store.ts';

export interface ImportServiceDeps {
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  subjects: SubjectService;
  consent: ConsentService;
  contacts: ContactService;
  doNotCall: DoNotCall;
  /** The app an import writes as, if it is in service. */
  activeApp(clientId: string): Promise<{ clientId: string; purposes: string[]; reveal: string[] } | undefined>;
  settings: { leaseMs: number; maxUploadBytes: number };
}

export interface ImportOptions {
  app: string;
  format: ImportFormat;
  mapping?: CsvMapping;
  dryRun: boolean;
  maxErrors?: number;
  /** An import id to resume, or `latest`: the app's last import that did not complete. */
  resume?: string;
  onProgress?: (run: store.ImportRunRow) => void;
}

const viewOf = (run: store.ImportRunRow): ImportView => ({
  id: run.id,
  app: run.appId,
  format: run.format,
  status: run.status,
  dryRun: run.dryRun,
  linesCommitted: run.committedLine,
  counts: run.counts,
  errors: run.errors,
  errorCount: run.errorCount,
  startedBy: run.startedBy,
  startedAt: run.startedAt.toISOString(),
  updatedAt: run.updatedAt.toISOString(),
  finishedAt: run.finishedAt?.toISOString() ?? null,
});

/**
 * Imports of an existing customer base (SPEC §10): from a file (the CLI) or
 * an upload (POST /v1/imports, spooled to a private file first, then run in
 * the background), each through runImport. Every module's rules apply to
 * every row; this module owns only the runs and the CRM's ids.
 */
export function createImportService(deps: ImportServiceDeps) {
  const { db, audit } = deps;
  const running = new Map<string, { stop: AbortController; done: Promise<unknown> }>();
  const importDeps = {
    db,
    subjects: deps.subjects,
    consent: deps.consent,
    contacts: deps.contacts,
    writers: { subjects: deps.subjects, consent: deps.consent, contacts: deps.contacts, doNotCall: deps.doNotCall },
    leaseMs: deps.settings.leaseMs,
  };

  async function request(options: ImportOptions, file: string, extra: Partial<ImportRequest> = {}): Promise<ImportRequest> {
    const app = await deps.activeApp(options.app);
    if (!app) throw new ImportFileError([{ path: 'app', message: 'no app in service with this client id' }]);
    let resume = options.resume;
    if (resume === 'latest') {
      const last = await store.lastRunOfApp(db.read, app.clientId);
      if (!last || last.status === 'completed') throw new NotFound('this app has no import to resume: its last one completed');
      resume = last.id;
    }
    // The whole file is checked before anything is written: a file that is not what it claims is refused whole.
    await checkFile(file, options.format, options.mapping);
    return {
      caller: { clientId: app.clientId, purposes: app.purposes },
      file,
      format: options.format,
      mapping: options.mapping,
      dryRun: options.dryRun,
      maxErrors: options.maxErrors,
      resume,
      onProgress: options.onProgress,
      ...extra,
    };
  }

  async function audited(ctx: RequestContext, run: store.ImportRunRow): Promise<ImportView> {
    if (!run.dryRun) {
      await audit.record(ctx, {
        action: 'imports.import.run',
        decision: 'info',
        reasons: [{ code: 'import', detail: run.id }, { code: run.status }, ...Object.entries(run.counts).map(([code, n]) => ({ code, detail: String(n) }))],
      });
    }
    return viewOf(run);
  }

  return {
    mapping: (file: string) => loadCsvMapping(file, deps.policy),
    mappingOf: (raw: unknown) => csvMappingOf(raw, deps.policy),

    /** An import from a file, to its end (the CLI). */
    async importFile(ctx: RequestContext, file: string, options: ImportOptions): Promise<ImportView> {
      return audited(ctx, await runImport(importDeps, ctx, await request(options, file)));
    },

    /**
     * An upload (POST /v1/imports): the body is spooled to a private file
     * (bounded), checked whole, and then imported in the background; a dry run
     * is answered when it has run, since it keeps nothing to look up later.
     */
    async importUpload(ctx: RequestContext, body: Readable, options: ImportOptions): Promise<{ started: ImportView } | { dryRun: ImportView }> {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-import-'));
      const file = path.join(dir, 'upload');
      const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
      try {
        let bytes = 0;
        const limit = deps.settings.maxUploadBytes;
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            done(bytes > limit ? new PayloadTooLarge(`an import upload is at most ${limit} bytes (IMPORT_MAX_UPLOAD_BYTES); import larger files with custos import`) : null, chunk);
          },
        });
        await pipeline(body, counter, fs.createWriteStream(file, { mode: 0o600 }));
        const stop = new AbortController();
        const prepared = await request(options, file, { signal: stop.signal });
        if (options.dryRun) {
          const run = await runImport(importDeps, ctx, prepared);
          cleanup();
          return { dryRun: viewOf(run) };
        }
        const id = prepared.resume ?? `imp_${randomUUID()}`;
        // Answered once the run is written (GET finds it at once), or with the error that kept it from starting (409: another import runs).
        const run = await new Promise<store.ImportRunRow>((resolve, reject) => {
          const done = runImport(importDeps, ctx, { ...prepared, id, onStarted: resolve })
            .then((finished) => audited(ctx, finished))
            .catch(reject) // after the start, the run has recorded its failure itself, and can be resumed
            .finally(() => {
              running.delete(id);
              cleanup();
            });
          running.set(id, { stop, done });
        });
        return { started: viewOf(run) };
      } catch (error) {
        cleanup();
        throw error;
      }
    },

    async view(ctx: RequestContext, id: string, options: { refs: boolean }): Promise<ImportView> {
      const run = await store.findRun(db.read, id);
      if (!run) return audit.refuse(ctx, { action: 'imports.import.read', reasons: [{ code: 'unknown-import' }] }, new NotFound('no import with this id'));
      const refs = options.refs ? await store.refsOf(db.read, id, run.appId) : undefined;
      await audit.record(ctx, { action: 'imports.import.read', decision: 'allow', reasons: [{ code: 'import', detail: id }, ...(refs ? [{ code: 'refs', detail: String(refs.length) }] : [])] });
      return { ...viewOf(run), ...(refs ? { refs } : {}) };
    },

    async refs(id: string): Promise<Array<{ id: string; ref: string }>> {
      const run = await store.findRun(db.read, id);
      return run ? store.refsOf(db.read, id, run.appId) : [];
    },

    async list(ctx: RequestContext): Promise<ImportView[]> {
      const runs = await store.listRuns(db.read, 50);
      await audit.record(ctx, { action: 'imports.import.list', decision: 'allow', reasons: [{ code: 'imports', detail: String(runs.length) }] });
      return runs.map(viewOf);
    },

    /** Stops the imports this process runs (shutdown): each keeps what it committed and can be resumed. */
    async stop(): Promise<void> {
      for (const { stop } of running.values()) stop.abort();
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
