import { randomUUID } from 'node:crypto';
import { ValidationError } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { appendAuditEvent } from '../audit/service.ts';
import type { SubjectService } from '../subjects/service.ts';
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
const BATCH = 5000;

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

/**
 * `custos dnc import`: stores the registry as pseudonyms under a new import id,
 * in batches, then switches the source to it in one transaction. Until that
 * switch the old list stays in force, so an import that fails or is killed
 * midway changes nothing (its rows are cleaned up by the next import).
 */
export async function importRegistry(
  deps: { db: Database; subjects: SubjectService },
  ctx: RequestContext,
  source: string,
  lines: AsyncIterable<string>,
  onProgress?: (linesRead: number) => void,
): Promise<ImportReport> {
  if (!SOURCE_NAME.test(source) || source === store.INTERNAL_IMPORT) {
    throw new ValidationError([{ path: 'source', message: 'must be a short lower-case name such as national-dnc (and not "internal")' }]);
  }
  const { db, subjects } = deps;
  const importId = randomUUID();
  const parser = new RegistryLineParser();
  const report: ImportReport = { source, importId, accepted: 0, invalid: 0, duplicate: 0, skipped: 0, replacedImport: null };
  const digest = await subjects.digester('phone');
  let batch: Array<[string, string, string, number, string, Date]> = [];
  let lineNo = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    const inserted = await db.transaction((tx) => store.insertDncEntries(tx, rows));
    report.accepted += inserted;
    report.duplicate += rows.length - inserted;
  };
  const now = new Date();
  for await (const raw of lines) {
    lineNo += 1;
    const parsed = parser.parse(raw);
    if (parsed.skipped) {
      report.skipped += 1;
      continue;
    }
    const normalized = subjects.normalize('phone', parsed.number!);
    if ('problem' in normalized) {
      report.invalid += 1;
      continue;
    }
    const key = digest(normalized.value);
    batch.push([`${importId}:${lineNo}`, source, importId, key.keyVersion, key.digest, now]);
    if (batch.length >= BATCH) {
      await flush();
      onProgress?.(lineNo);
    }
  }
  await flush();
  onProgress?.(lineNo);
  // Duplicates inside one batch are skipped by the unique index too, so they are counted the same way.
  await db.transaction(async (tx) => {
    report.replacedImport = (await store.activateImport(tx, source, importId, report.accepted, new Date())) ?? null;
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
  await db.transaction((tx) => store.deleteInactiveEntries(tx, source, importId));
  return report;
}
