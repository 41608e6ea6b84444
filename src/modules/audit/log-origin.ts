import { ConfigError } from '../../config.ts';
import type { Database } from '../../storage/database.ts';
import { recordedOnce } from '../../storage/recorded-once.ts';

/**
 * The log's name, the same for every process of one database: the first
 * start records the origin it was configured with (AUDIT_LOG_ORIGIN, or one
 * derived from CUSTOS_PUBLIC_URL or PORT); every later process uses the
 * recorded one, whatever port it runs on. A log cannot be renamed (a witness
 * and every kept checkpoint know it by its name): an AUDIT_LOG_ORIGIN that
 * names another is refused.
 */
export async function pinnedLogOrigin(db: Database, configured: { origin: string; originSet: boolean }, at = new Date()): Promise<string> {
  const recorded = await recordedOnce(db, 'audit_log_origin', 'origin', configured.origin, at);
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
