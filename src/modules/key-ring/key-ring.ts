import { deriveKey } from '../../crypto/key-derivation.ts';

/**
 * The versioned keys derived from the master key. A version is only a number
 * (recorded in key_version); its keys are derived on demand and memoized.
 *  - identifier keys: HMAC keys for identifier pseudonyms (matching and lookup);
 *  - wrapping keys: AES keys that wrap each subject's data key.
 * The app-pseudonym key is not versioned: the pseudonyms apps see must stay stable.
 */
export interface KeyRing {
  identifierKey(version: number): Buffer;
  wrappingKey(version: number): Buffer;
  readonly appPseudonymKey: Buffer;
  /** AES key for what customer requests keep while open (the identifier, corrected values) and for queued messages. */
  readonly requestSealingKey: Buffer;
  /** AES key for officers' free-text notes that belong to no subject (do-not-call entries). */
  readonly noteSealingKey: Buffer;
  /** HMAC key for status tokens and one-time codes, which are stored only as keyed hashes. */
  readonly requestSecretKey: Buffer;
}

export function createKeyRing(masterKey: Buffer): KeyRing {
  const identifierKeys = new Map<number, Buffer>();
  const wrappingKeys = new Map<number, Buffer>();
  const memo = (cache: Map<number, Buffer>, label: string, version: number) => {
    let key = cache.get(version);
    if (!key) cache.set(version, (key = deriveKey(masterKey, `${label} v${version}`)));
    return key;
  };
  return {
    identifierKey: (version) => memo(identifierKeys, 'custos identifier pseudonym', version),
    wrappingKey: (version) => memo(wrappingKeys, 'custos data key wrapping', version),
    appPseudonymKey: deriveKey(masterKey, 'custos app pseudonym v1'),
    requestSealingKey: deriveKey(masterKey, 'custos privacy request sealing v1'),
    requestSecretKey: deriveKey(masterKey, 'custos privacy request secrets v1'),
    noteSealingKey: deriveKey(masterKey, 'custos note sealing v1'),
  };
}
