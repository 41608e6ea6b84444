import { cliContext, printJson, printLines, withRuntime } from './io.ts';
import { progressReporter } from './progress.ts';

export async function rotateKeysCommand(options: { json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const total = await runtime.db.read.subject.count();
    const progress = progressReporter('re-wrapping subjects', total, options.json);
    const result = await runtime.subjects.rotateKeys(cliContext(runtime), progress.update);
    progress.done();
    if (options.json) return printJson(result);
    printLines(`Key version ${result.version} is current; ${result.subjects} subjects re-wrapped and re-indexed. Refs are unchanged.`);
  });
}
