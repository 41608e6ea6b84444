import { hkdfSync } from 'node:crypto';

/**
 * Every key Custos uses is derived from the master key with HKDF-SHA-256 and a
 * label naming its use and version, so replicas sharing CUSTOS_MASTER_KEY agree
 * on every key and no key material is ever stored.
 */
export function deriveKey(masterKey: Buffer, label: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), label, length));
}
