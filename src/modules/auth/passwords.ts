import { hash, verify, type Algorithm } from '@node-rs/argon2';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
// Algorithm is an ambient const enum, which isolated modules cannot read; 2 is its Argon2id member.
const ARGON2ID = { algorithm: 2 as Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, ARGON2ID);
}

// Verifying against this when the account does not exist keeps the response
// time the same, so timing does not tell which client ids or usernames exist.
const decoy = hashSecret('custos-decoy-secret-never-matches');

export async function verifySecret(storedHash: string | undefined, candidate: string): Promise<boolean> {
  try {
    if (storedHash === undefined) {
      await verify(await decoy, candidate);
      return false;
    }
    return await verify(storedHash, candidate);
  } catch {
    return false;
  }
}
