import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** The only algorithm Custos signs with; verification pins it. */
export const SIGNING_ALGORITHM = 'EdDSA';

// DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

/**
 * Derives the Ed25519 token-signing key from the master key, so every replica
 * sharing CUSTOS_MASTER_KEY signs and verifies with the same key and no key
 * material has to be stored in the database.
 */
export async function deriveSigningKey(masterKey: Buffer, version = 1): Promise<SigningKey> {
  const seed = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `custos token signing v${version}`, 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' } };
}
