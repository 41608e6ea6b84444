import fs from 'node:fs';
import readline from 'node:readline';
import { importRegistry } from '../modules/dnc/import.ts';
import { CliError, cliContext, printJson, printLines, withRuntime } from './io.ts';
import { progressReporter } from './progress.ts';

export async function importDncCommand(file: string, options: { source: string; json?: boolean }): Promise<void> {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new CliError(`no such file: ${file}`);
  const size = fs.statSync(file).size;
  await withRuntime(async (runtime) => {
    const stream = fs.createReadStream(file);
    const progress = progressReporter(`importing ${options.source}`, size, options.json);
    const reader = readline.createInterface({ input: stream, crlfDelay: Infinity });
    // Take the iterator now: readline drops lines emitted before its async iterator exists,
    // and importRegistry awaits the database before it reads the first line.
    const iterator = reader[Symbol.asyncIterator]();
    const lines = { [Symbol.asyncIterator]: () => iterator };
    const started = Date.now();
    const report = await importRegistry({ db: runtime.db, pseudonyms: runtime.pseudonyms }, cliContext(runtime), options.source, lines, () => progress.update(stream.bytesRead));
    progress.done();
    const seconds = (Date.now() - started) / 1000;
    if (options.json) return printJson({ ...report, seconds });
    printLines(
      `Imported ${options.source} in ${seconds.toFixed(1)} s: ${report.accepted} ${report.accepted === 1 ? 'number' : 'numbers'} in force${report.replacedImport ? ' (the previous list is replaced)' : ''}.`,
      `  invalid lines:   ${report.invalid}`,
      `  duplicate lines: ${report.duplicate}`,
      `  blank, comment or header lines: ${report.skipped}`,
    );
  });
}
