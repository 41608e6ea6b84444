import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../storage/database.ts';
import { CliError, printJson, printLines, readConfig } from './io.ts';

/**
 * `custos backup OUT`: an online copy of the embedded database, safe while
 * `custos serve` runs (SQLite's backup API copies a consistent snapshot).
 * Restore by stopping the server and putting the file where DATABASE_URL
 * points (the master key must be the same). PostgreSQL: pg_dump.
 */
export async function backupCommand(out: string, options: { json?: boolean }): Promise<void> {
  const config = readConfig();
  if (config.database.kind !== 'sqlite') {
    throw new CliError('backup copies the embedded database; for PostgreSQL use its own tools: pg_dump -Fc -n <schema> -f custos.dump (restore: pg_restore -d <database> custos.dump)');
  }
  const destination = path.resolve(out);
  if (fs.existsSync(destination)) throw new CliError(`${destination} exists already; a backup never overwrites a file`);
  const db = await openDatabase(config.database);
  try {
    const { pages } = await db.backup!(destination);
    if (options.json) return printJson({ database: 'sqlite', source: config.database.url, backup: destination, pages });
    printLines(`backed up ${config.database.url} to ${destination} (${pages} pages); restore: stop the server, put the file where DATABASE_URL points, start it with the same CUSTOS_MASTER_KEY`);
  } finally {
    await db.close();
  }
}
