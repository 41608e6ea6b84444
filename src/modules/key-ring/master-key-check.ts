import { deriveKey } from '../../crypto/key-derivation.ts';
import { ConfigError } from '../../config.ts';
import type { Database } from '../../storage/database.ts';
import { recordedKeyFingerprint } from './store.ts';

/** A fingerprint of the master key: HKDF under its own label, so it reveals nothing of the key or of the keys derived for use. */
export function masterKeyFingerprint(masterKey: Buffer): string {
  return deriveKey(masterKey, 'custos master key check v1', 16).toString('hex');
}

/**
 * Every replica and CLI command must use the key the database was set up
 * with: under another key, pseudonyms would not match, data keys would not
 * unwrap and tokens would not verify, silently. The first start records the
 * key's fingerprint; a process started with another key refuses to run,
 * naming both fingerprints (never the keys).
 */
export async function checkMasterKey(db: Database, masterKey: Buffer): Promise<void> {
  const mine = masterKeyFingerprint(masterKey);
  const recorded = await recordedKeyFingerprint(db, mine, new Date());
  if (recorded !== mine) {
    throw new ConfigError([
      {
        variable: 'CUSTOS_MASTER_KEY',
        message: `is not the key this database was set up with (fingerprint ${mine.slice(0, 12)} here, ${recorded.slice(0, 12)} in the database); every replica and CLI command must use the same key`,
      },
    ]);
  }
}
