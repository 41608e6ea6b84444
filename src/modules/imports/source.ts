import { createHash } from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { ValidationError } from '../../shared/errors.ts';
import { recordOfCsvRow, type CsvMapping } from './csv-mapping.ts';
import type { ImportFormat } from './schema.ts';

/** A line longer than this is not a customer record: the file is refused before anything is written. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** One row of the file as the import reads it: its line, the raw text (for the digest chain) and the record it holds. */
export interface SourceRow {
  line: number;
  raw: string;
  record: unknown;
}

/** The file is not what it claims to be: refused whole (exit code 2, 400), naming the line or key. */
export class ImportFileError extends ValidationError {
  /** The CLI's exit code for a file refused whole: nothing was written. */
  readonly exitCode = 2;
}

const fileError = (path: string, message: string) => new ImportFileError([{ path, message }]);

/**
 * The rows of an import file, in order: NDJSON one JSON object a line (blank
 * lines skipped), CSV through its mapping (a header row first). Anything that
 * makes the file as a whole unreadable (a line that is not a JSON object, a
 * line over 1 MB, a CSV that does not parse, a mapping naming a column the
 * header lacks) throws ImportFileError; the import checks the whole file this
 * way before it writes anything (checkFile).
 */
export async function* readRows(file: string, format: ImportFormat, mapping?: CsvMapping): AsyncGenerator<SourceRow> {
  if (format === 'ndjson') yield* ndjsonRows(file);
  else {
    if (!mapping) throw fileError('mapping', 'a CSV import needs a mapping file (--mapping) naming which column holds which field');
    yield* csvRows(file, mapping);
  }
}

async function* ndjsonRows(file: string): AsyncGenerator<SourceRow> {
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      const raw = line === 1 ? text.replace(/^\uFEFF/, '') : text;
      if (Buffer.byteLength(raw, 'utf8') > MAX_LINE_BYTES) throw fileError(`line ${line}`, `is longer than ${MAX_LINE_BYTES} bytes; one line holds one customer`);
      if (raw.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(raw);
      } catch {
        throw fileError(`line ${line}`, 'is not JSON: an NDJSON file holds one JSON object a line');
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw fileError(`line ${line}`, 'is not a JSON object: an NDJSON file holds one customer object a line');
      yield { line, raw, record };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

async function* csvRows(file: string, mapping: CsvMapping): AsyncGenerator<SourceRow> {
  const input = fs.createReadStream(file);
  const parser = input.pipe(parseCsv({ bom: true, delimiter: mapping.delimiter, relax_column_count: false, skip_empty_lines: true, raw: true, info: true, max_record_size: MAX_LINE_BYTES }));
  let header: string[] | undefined;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
      const { record, raw, info } = item;
      if (!header) {
        header = record.map((h) => h.trim());
        const missing = mapping.columnsUsed().filter((c) => !header!.includes(c));
        if (missing.length > 0) throw fileError('mapping', `names columns the CSV header does not have: ${missing.join(', ')}`);
        continue;
      }
      const cells = new Map(header.map((h, i) => [h, record[i] ?? '']));
      yield { line: info.lines, raw, record: recordOfCsvRow(mapping, cells) };
    }
  } catch (error) {
    if (error instanceof ImportFileError) throw error;
    // csv-parse's messages may quote a cell: only its code and line are reported.
    const { lines: line, code } = error as { lines?: number; code?: string };
    throw fileError(line ? `line ${line}` : 'file', `is not CSV this mapping can read (${code ?? 'unreadable'})`);
  } finally {
    input.destroy();
  }
}

/** The digest chain over the rows read so far: a resumed import proves it reads the lines it committed. */
export function chainDigest(previous: string, raw: string): string {
  return createHash('sha256').update(previous).update('\n').update(raw).digest('hex');
}

export const CHAIN_START = '';

/** Reads the whole file once the way the import will (throws ImportFileError): how many rows it holds. */
export async function checkFile(file: string, format: ImportFormat, mapping?: CsvMapping): Promise<{ rows: number }> {
  let rows = 0;
  for await (const _row of readRows(file, format, mapping)) rows++;
  return { rows };
}
