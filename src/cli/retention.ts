import { cliContext, printJson, printLines, withRuntime } from './io.ts';

export async function retentionRunCommand(options: { dryRun?: boolean; json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const report = await runtime.runRetention(cliContext(runtime), { dryRun: Boolean(options.dryRun) });
    if (options.json) return printJson(report);
    const verb = report.dryRun ? 'would erase' : 'erased';
    const purposes = Object.entries(report.byPurpose).map(([purpose, count]) => `  ${purpose}: ${count} subject(s) past retention`);
    printLines(`Scanned ${report.scanned} subjects; ${verb} ${report.subjects}.`, ...purposes);
  });
}
