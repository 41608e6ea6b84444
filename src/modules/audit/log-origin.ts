import { ConfigError } from '../../config.ts';
import type { Database } from '../../storage/database.ts';

/**
 * The log's name, the same for every process of one database: the first
 * start records the origin it was configured with (AUDIT_LOG_ORIGIN, or one
 * derived from CUSTOS_PUBLIC_URL or PORT); every later process uses the
 * recorded one, whatever port it runs on. A log cannot be renamed (a witness
 * and every kept checkpoint know it by its name): an AUDIT_LOG_ORIGIN that
 * names another is refused.
 */
export async function pinnedLogOrigin(db: Database, configured: { origin: string; originSet: boolean }, at = new Date()): Promise<string> {
  const read = async () => (await db.readRaw<{ origin: string }>('SELECT origin FROM audit_log_origin WHERE id = 1'))[0]?.origin;
  let recorded = await read();
  if (recorded === undefined) {
    await db.writeAlone([{ sql: 'INSERT INTO audit_log_origin (id, origin, recorded_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING', params: [configured.origin, at] }]);
    recorded = (await read())!;
  }
  if (configured.originSet && recorded !== configured.origin) {
    throw new ConfigError([
      {
        variable: 'AUDIT_LOG_ORIGIN',
        message: `names the log "${configured.origin}", but this database's log is "${recorded}" (fixed at its first start); a log keeps its name, since witnesses and kept checkpoints know it by it: unset AUDIT_LOG_ORIGIN or set it to "${recorded}"`,
      },
    ]);
  }
  return recorded;
}
