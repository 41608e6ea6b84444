import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.ts';

const DEV_KEY_FILE = 'master.key';

/**
 * The master key roots every other secret (token signing, the pseudonym and
 * data-encryption keys). Production sets CUSTOS_MASTER_KEY, the
 * same on every replica. Without it, a development key is generated once under
 * the data dir, with a warning, so `npm start` works on a fresh machine.
 */
export function loadMasterKey(configured: Buffer | undefined, dataDir: string, logger: Logger, options: { announceExisting: boolean } = { announceExisting: true }): Buffer {
  if (configured) return configured;
  const file = path.join(dataDir, DEV_KEY_FILE);
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    if (options.announceExisting) logger.warn('Using the development master key from the data dir; set CUSTOS_MASTER_KEY in production', { keyFile: file });
    return key;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  logger.warn(
    '!!! GENERATED A DEVELOPMENT MASTER KEY !!! It protects every token and all customer data. ' +
      'Do not use it in production: set CUSTOS_MASTER_KEY (openssl rand -base64 32) and keep it out of the data dir.',
    { keyFile: file },
  );
  return key;
}
