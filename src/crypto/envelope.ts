import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

// IVs are taken from a pool the CSPRNG fills 4 KB at a time: a write seals a value per field, and a
// randomBytes call for each 12 bytes cost more than the encryption (each IV is used once, as before).
const ivPool = Buffer.alloc(IV_BYTES * 341);
let ivUsed = ivPool.length;
function freshIv(): Buffer {
  if (ivUsed + IV_BYTES > ivPool.length) {
    randomFillSync(ivPool);
    ivUsed = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivUsed, ivUsed + IV_BYTES));
  ivUsed += IV_BYTES;
  return iv;
}

/**
 * AES-256-GCM. `context` is bound as associated data, so a ciphertext moved to
 * another subject or field fails to open instead of decrypting in the wrong place.
 * Output: base64(iv | tag | ciphertext).
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): string {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function open(key: Buffer, sealed: string, context: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}
