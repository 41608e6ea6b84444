import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { SIGNING_ALGORITHM, type SigningKey } from '../../crypto/signing-key.ts';

/** What a tree head states; the JWS payload is its canonical JSON. */
export interface TreeHeadClaims {
  treeSize: number;
  /** Hex MTH of the first treeSize leaves. */
  rootHash: string;
  /** ISO 8601, when Custos signed it. */
  timestamp: string;
}

export const TREE_HEAD_TYPE = 'custos-tree-head+jws';

/** A compact JWS (EdDSA, Custos's key, verifiable with /.well-known/jwks.json) over the head. */
export async function signTreeHead(key: SigningKey, claims: TreeHeadClaims): Promise<string> {
  return new CompactSign(Buffer.from(canonicalJson(claims), 'utf8')).setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: TREE_HEAD_TYPE }).sign(key.privateKey);
}

/** The claims of a head's JWS when its signature verifies with one of `jwks`, else undefined. */
export async function verifyTreeHead(jws: string, jwks: { keys: JWK[] }): Promise<TreeHeadClaims | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: [SIGNING_ALGORITHM] });
    if (protectedHeader.typ !== TREE_HEAD_TYPE) return undefined;
    return JSON.parse(Buffer.from(payload).toString('utf8')) as TreeHeadClaims;
  } catch {
    return undefined;
  }
}

// ---- C2SP signed note / tlog-checkpoint ----

const ED25519_SIGNATURE_TYPE = 0x01;

function rawPublicKey(publicKey: KeyObject): Buffer {
  return Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4] (c2sp.org/signed-note). */
function noteKeyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(`${name}\n`)
    .update(Buffer.from([ED25519_SIGNATURE_TYPE]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

/** The verifier key in the `<name>+<hex key id>+<base64(0x01 || key)>` form witnesses and note verifiers are configured with. */
export function noteVerifierKey(origin: string, publicKey: KeyObject): string {
  const raw = rawPublicKey(publicKey);
  return `${origin}+${noteKeyId(origin, raw).toString('hex')}+${Buffer.concat([Buffer.from([ED25519_SIGNATURE_TYPE]), raw]).toString('base64')}`;
}

/** The checkpoint body of c2sp.org/tlog-checkpoint: origin, tree size, base64 root hash, each ending in a newline. */
export function checkpointBody(origin: string, treeSize: number, rootHashHex: string): string {
  return `${origin}\n${treeSize}\n${Buffer.from(rootHashHex, 'hex').toString('base64')}\n`;
}

/** The head as a signed note: body, blank line, `— <origin> base64(key id || Ed25519 signature)`. */
export function signCheckpoint(origin: string, key: SigningKey, treeSize: number, rootHashHex: string): string {
  const body = checkpointBody(origin, treeSize, rootHashHex);
  const signature = sign(null, Buffer.from(body, 'utf8'), key.privateKey);
  const keyId = noteKeyId(origin, rawPublicKey(key.publicKey));
  return `${body}\n\u2014 ${origin} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/**
 * Parses a checkpoint kept outside Custos and verifies Custos's signature on
 * it. Throws CheckpointError for a note that is malformed, for another origin,
 * or whose signature does not verify: such a file proves nothing either way.
 */
export function openCheckpoint(note: string, origin: string, publicKey: KeyObject): { treeSize: number; rootHash: string } {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new CheckpointError('not a signed note: no blank line between the text and the signatures');
  const body = note.slice(0, split + 1);
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw new CheckpointError('not a checkpoint: the text needs origin, tree size and root hash lines');
  const [noteOrigin, sizeLine, rootLine] = lines as [string, string, string];
  if (noteOrigin !== origin) throw new CheckpointError(`the checkpoint is for log "${noteOrigin}", not this log ("${origin}")`);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) throw new CheckpointError('the tree size line is not a decimal number');
  const root = Buffer.from(rootLine, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootLine) throw new CheckpointError('the root hash line is not 32 bytes of base64');
  const raw = rawPublicKey(publicKey);
  const keyId = noteKeyId(origin, raw);
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l !== '');
  let verified = false;
  for (const line of signatures) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!match) throw new CheckpointError('a signature line is malformed');
    const bytes = Buffer.from(match[2]!, 'base64');
    // Signatures by other keys (witness cosignatures) are ignored, as the note format requires.
    if (match[1] !== origin || bytes.length < 4 || !bytes.subarray(0, 4).equals(keyId)) continue;
    if (!verify(null, Buffer.from(body, 'utf8'), publicKey, bytes.subarray(4))) throw new CheckpointError("Custos's signature on the checkpoint does not verify");
    verified = true;
  }
  if (!verified) throw new CheckpointError("the checkpoint carries no signature by this log's key");
  return { treeSize: Number(sizeLine), rootHash: root.toString('hex') };
}
