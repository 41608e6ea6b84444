import fs from 'node:fs';
import type { ImportView } from '../modules/imports/schema.ts';
import { progressReporter } from './progress.ts';
import { CliError, cliContext, cliIo, printJson, printLines, withRuntime } from './io.ts';

export interface ImportCommandOptions {
  app: string;
  format: 'ndjson' | 'csv';
  mapping?: string;
  dryRun?: boolean;
  resume?: boolean | string;
  maxErrors?: string;
  refs?: string;
  json?: boolean;
}

/**
 * `custos import FILE --app CLIENT_ID`: brings an existing customer base in
 * (SPEC §10). Exit code 2 when the file is refused whole (nothing written),
 * 1 when the run ended early (what it committed stays; --resume carries on).
 */
export async function importCommand(file: string, options: ImportCommandOptions): Promise<void> {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new CliError(`no such file: ${file}`);
  if (options.format !== 'ndjson' && options.format !== 'csv') throw new CliError('--format is ndjson or csv');
  if (options.format === 'csv' && !options.mapping) throw new CliError('a CSV import needs --mapping FILE (which column holds which field)');
  const maxErrors = options.maxErrors === undefined ? undefined : Number(options.maxErrors);
  if (maxErrors !== undefined && !(Number.isInteger(maxErrors) && maxErrors > 0)) throw new CliError('--max-errors takes a whole number above 0');
  await withRuntime(async (runtime) => {
    const mapping = options.mapping ? runtime.imports.mapping(options.mapping) : undefined;
    // The bar counts lines (a person is watching only on a terminal; the count is a quick pass otherwise skipped).
    const watched = cliIo().stderr.isTTY === true && !options.json;
    const progress = progressReporter(options.dryRun ? 'checking (dry run)' : 'importing', watched ? await countLines(file) : 0, !watched);
    const started = Date.now();
    const view = await runtime.imports.importFile(cliContext(runtime), file, {
      app: options.app,
      format: options.format,
      mapping,
      dryRun: options.dryRun === true,
      maxErrors,
      resume: options.resume === true ? 'latest' : options.resume || undefined,
      onProgress: (run) => progress.update(run.committedLine),
    });
    progress.done();
    const seconds = (Date.now() - started) / 1000;
    const refs = options.refs || options.json ? await runtime.imports.refs(view.id) : [];
    if (options.refs) fs.writeFileSync(options.refs, refs.map((r) => JSON.stringify(r)).join('\n') + (refs.length > 0 ? '\n' : ''), { mode: 0o600 });
    if (view.status !== 'completed') cliIo().exitCode = 1;
    if (options.json) return printJson({ importId: view.id, status: view.status, dryRun: view.dryRun, seconds, counts: view.counts, errors: view.errors, errorCount: view.errorCount, refs });
    printLines(...report(view, seconds, options.refs, refs.length));
  });
}

function report(view: ImportView, seconds: number, refsFile: string | undefined, refs: number): string[] {
  const c = view.counts;
  const rows = c.created + c.updated + c.unchanged + c.refused;
  const lines = [
    `${view.dryRun ? 'Dry run (nothing written)' : `Import ${view.id}`}: ${view.status}, ${rows} ${rows === 1 ? 'row' : 'rows'} in ${seconds.toFixed(1)} s (${seconds > 0 ? Math.round(rows / seconds) : rows} rows/s)`,
    `  created:   ${c.created}`,
    `  updated:   ${c.updated}`,
    `  unchanged: ${c.unchanged}`,
    `  refused:   ${c.refused}`,
    `  consent events entered: ${c.consentEvents}; do-not-call flags: ${c.doNotCall}; recent contacts: ${c.contacts} (${c.contactsTooOld} older than any cap window, not kept)`,
  ];
  if (view.errors.length > 0) {
    lines.push(`Refused rows (line, field, reason)${view.errorCount > view.errors.length ? `, the first ${view.errors.length} of ${view.errorCount}` : ''}:`);
    for (const e of view.errors.slice(0, 50)) lines.push(`  line ${e.line}${e.field ? ` ${e.field}` : ''}: ${e.reason}`);
    if (view.errors.length > 50) lines.push(`  … ${view.errors.length - 50} more: --json prints them all`);
  }
  if (refsFile) lines.push(`The CRM's ids beside the app's refs: ${refs} in ${refsFile} (one {"id","ref"} a line)`);
  if (view.status === 'stopped') lines.push('Stopped at --max-errors; what was committed stays. Fix the rows and run again, or --resume to carry on.');
  if (view.status === 'failed') lines.push('Ended early; what was committed stays. `custos import FILE --app … --resume` carries on after it.');
  return lines;
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  return lines;
}
