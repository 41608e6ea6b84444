import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { ValidationError } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { TaggedValues } from '../pseudonyms/identifier-tags.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import * as store from './store.ts';

export interface ImportReport {
  source: string;
  importId: string;
  accepted: number;
  invalid: number;
  duplicate: number;
  skipped: number;
  replacedImport: string | null;
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Reads a registry file line by line: one number a line, or CSV whose header
 * names a `phone` column. Blank lines, `#` comments, a byte-order mark and CRLF
 * endings are tolerated; anything that is not a phone number counts as invalid.
 */
export class RegistryLineParser {
  #column: number | undefined;
  #first = true;

  /** The number on this line, `undefined` for lines that carry none (blank, comment, header). */
  parse(raw: string): { number?: string; skipped?: true } {
    let line = raw.replace(/\r$/, '');
    if (this.#first) line = line.replace(/^\uFEFF/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return { skipped: true };
    if (this.#first) {
      this.#first = false;
      const cells = splitCsv(trimmed).map((c) => c.toLowerCase());
      const phone = cells.findIndex((c) => c === 'phone' || c === 'phone_number' || c === 'number' || c === 'msisdn');
      if (phone >= 0) {
        this.#column = phone;
        return { skipped: true };
      }
      if (cells.length > 1 && cells.every((c) => /[a-z]/.test(c))) {
        throw new ValidationError([{ path: 'file', message: 'the CSV header has no phone column (phone, phone_number, number or msisdn)' }]);
      }
    }
    return { number: this.#column === undefined ? trimmed : (splitCsv(trimmed)[this.#column] ?? '').trim() };
  }
}

function splitCsv(line: string): string[] {
  return line.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
}

const TAG_BATCH = 10_000; // numbers per tagging batch (one message to a worker thread)
const RUN = 1_000_000; // tags sorted in memory before they are written: 8 MB
const WRITE_CHUNK = 50_000; // tags per write transaction, so the gateway's writers wait at most one chunk

/**
 * `custos dnc import`: normalizes and tags the numbers on worker threads,
 * sorts them in runs and writes them under a new import, then switches the
 * source to it in one transaction. Until that switch the old list stays in
 * force, so an import that fails or is killed midway changes nothing (its rows
 * are removed by the next import of the source).
 */
export async function importRegistry(
  deps: { db: Database; pseudonyms: IdentifierPseudonyms },
  ctx: RequestContext,
  source: string,
  lines: AsyncIterable<string>,
  onProgress?: (linesRead: number) => void,
  options: { threads?: number; runSize?: number } = {},
): Promise<ImportReport> {
  if (!SOURCE_NAME.test(source) || source === store.INTERNAL_IMPORT) {
    throw new ValidationError([{ path: 'source', message: 'must be a short lower-case name such as national-dnc (and not "internal")' }]);
  }
  const { db, pseudonyms } = deps;
  const importId = randomUUID();
  const parser = new RegistryLineParser();
  const report: ImportReport = { source, importId, accepted: 0, invalid: 0, duplicate: 0, skipped: 0, replacedImport: null };
  const threads = options.threads ?? os.availableParallelism();
  const tagger = await pseudonyms.tagger('phone', threads);
  let importNo: number;
  let valid = 0;
  try {
    importNo = await db.transaction((tx) => store.startImport(tx, { importId, source, keyVersion: tagger.keyVersion, startedAt: new Date() }));
    const runSize = options.runSize ?? RUN;
    const run = new BigInt64Array(runSize);
    let held = 0;
    const writeRun = async () => {
      const sorted = run.subarray(0, held).sort();
      held = 0;
      const unique = dedupeSorted(sorted);
      for (let i = 0; i < unique.length; i += WRITE_CHUNK) {
        const chunk = unique.subarray(i, i + WRITE_CHUNK);
        report.accepted += await db.transaction((tx) => store.insertDncNumbers(tx, importNo, chunk));
      }
    };
    const collect = async (tagged: TaggedValues) => {
      report.invalid += tagged.invalid;
      valid += tagged.tags.length;
      for (let i = 0; i < tagged.tags.length;) {
        const take = Math.min(runSize - held, tagged.tags.length - i);
        run.set(tagged.tags.subarray(i, i + take), held);
        held += take;
        i += take;
        if (held === runSize) await writeRun();
      }
    };
    // Batches in flight on the threads while this thread reads lines and writes runs.
    const inFlight: Array<Promise<TaggedValues>> = [];
    const dispatch = (numbers: string[]) => {
      const tagged = tagger.tag(numbers);
      tagged.catch(() => undefined); // awaited in order below; this only keeps a failure of a later batch from going unhandled
      inFlight.push(tagged);
    };
    let batch: string[] = [];
    let lineNo = 0;
    for await (const raw of lines) {
      lineNo += 1;
      const parsed = parser.parse(raw);
      if (parsed.skipped) {
        report.skipped += 1;
        continue;
      }
      batch.push(parsed.number!);
      if (batch.length === TAG_BATCH) {
        dispatch(batch);
        batch = [];
        if (inFlight.length > 2 * Math.max(1, threads)) await collect(await inFlight.shift()!);
        onProgress?.(lineNo);
      }
    }
    if (batch.length > 0) dispatch(batch);
    while (inFlight.length > 0) await collect(await inFlight.shift()!);
    await writeRun();
    onProgress?.(lineNo);
  } finally {
    await tagger.close();
  }
  report.duplicate = valid - report.accepted;
  await db.transaction(async (tx) => {
    report.replacedImport = (await store.activateImport(tx, { source, importId, importNo, entries: report.accepted, at: new Date() })) ?? null;
    await appendAuditEvent(tx, ctx, {
      action: 'dnc.import',
      decision: 'info',
      reasons: [
        { code: 'source', detail: source },
        { code: 'accepted', detail: String(report.accepted) },
        { code: 'invalid', detail: String(report.invalid) },
        { code: 'duplicate', detail: String(report.duplicate) },
      ],
    });
  });
  await removeInactiveImports(db, source, importNo, importId);
  return report;
}

/** Compacts a sorted array so each value appears once; returns the compacted view. */
function dedupeSorted(sorted: BigInt64Array): BigInt64Array {
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  }
  return sorted.subarray(0, n);
}

/** Deletes the numbers of the source's other runs in chunks, so no transaction holds the write lock for long. */
async function removeInactiveImports(db: Database, source: string, keepImportNo: number, keepImportId: string): Promise<void> {
  for (const importNo of await store.inactiveImports(db.read, source, keepImportNo)) {
    while ((await db.transaction((tx) => store.deleteImportNumbers(tx, importNo, WRITE_CHUNK))) > 0);
    await db.transaction((tx) => store.forgetImport(tx, importNo, source, keepImportId));
  }
}
