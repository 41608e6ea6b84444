import { migrate } from '../storage/migrate.ts';
import { printJson, printLines, readConfig } from './io.ts';

export async function migrateCommand(options: { dryRun?: boolean; json?: boolean }): Promise<void> {
  const config = readConfig();
  const report = await migrate(config.database, { dryRun: options.dryRun });
  const where = config.database.kind === 'sqlite' ? config.database.url : `PostgreSQL schema "${config.database.schema}"`;
  if (options.json) return printJson({ database: config.database.kind, dryRun: options.dryRun ?? false, ...report });
  if (report.applied.length === 0) return printLines(`${where}: up to date (${report.alreadyApplied.length} migrations applied)`);
  printLines(`${where}: ${options.dryRun ? 'would apply' : 'applied'} ${report.applied.join(', ')}`);
}
