import { open, seal } from '../../crypto/envelope.ts';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { PolicyViolation, type FieldProblem } from '../../shared/errors.ts';
import type { Database, Tx } from '../../storage/database.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { ConsentRead } from '../consent/reads.ts';
import type { KeyRing } from '../key-ring/key-ring.ts';
import type { Policy } from '../policies/schema.ts';
import { isRefShaped } from '../pseudonyms/derive.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import type { Violation } from './collection.ts';
import { normalizeIdentifier } from '../pseudonyms/normalize.ts';
import type { AttributeValue } from './schema.ts';
import * as store from './store.ts';

/** The app acting, as the auth layer established it. */
export interface AppCaller {
  clientId: string;
  purposes: readonly string[];
}

/** The consent module's check of a use, read with the subject it concerns. */
export type ConsentReadOf = (purpose: string, scope?: { recipient?: string }) => ConsentRead;

export interface SubjectView {
  ref: string;
  purpose: string;
  attributes: Record<string, AttributeValue>;
  identifiers: Record<string, string>;
  timezone: string | null;
}

export interface VaultDeps {
  db: Database;
  policy: Policy;
  keys: KeyRing;
  audit: AuditGroupCommit;
  pseudonyms: IdentifierPseudonyms;
}

export { versionsUpTo } from '../pseudonyms/identifiers.ts';

/** The associated-data name of the time zone's ciphertext: no policy field can have it (names start with a letter). */
const TIMEZONE_FIELD = '$timezone';

/**
 * What every subject operation shares: storage, policy, the key ring, and the
 * vault's envelope encryption and pseudonym helpers. Each operation
 * (write.ts, read.ts, lookup.ts, …) takes it as its first argument.
 */
export function createVault(deps: VaultDeps) {
  const { db, policy, keys, audit } = deps;

  const refuse = audit.refuse;

  function violationError(violations: Violation[]): PolicyViolation {
    const detail = violations.map((v) => `${v.field}: ${v.reason}`).join('; ');
    return new PolicyViolation(
      `refused by the data policy: ${detail}`,
      violations.map((v) => ({ ...v })),
    );
  }

  function normalizeAll(identifiers: Record<string, string>): { values: Map<string, string>; problems: FieldProblem[] } {
    const values = new Map<string, string>();
    const problems: FieldProblem[] = [];
    for (const [name, raw] of Object.entries(identifiers)) {
      const result = normalizeIdentifier(policy.fields[name]!, raw, policy.defaults.region);
      if ('problem' in result) problems.push({ path: `identifiers.${name}`, message: result.problem });
      else values.set(name, result.value);
    }
    return { values, problems };
  }

  const digestKeys = deps.pseudonyms.digestKeys;

  const dataKeyOf = (subject: Pick<store.SubjectRow, 'id' | 'keyVersion' | 'wrappedKey'>) => open(keys.wrappingKey(subject.keyVersion), subject.wrappedKey, subject.id);
  const encryptValue = (dataKey: Buffer, subjectId: string, field: string, value: unknown) => seal(dataKey, Buffer.from(canonicalJson(value), 'utf8'), `${subjectId}/${field}`);
  const decryptValue = (dataKey: Buffer, subjectId: string, field: string, sealed: string) => JSON.parse(open(dataKey, sealed, `${subjectId}/${field}`).toString('utf8')) as unknown;

  /**
   * The time zone is kept encrypted under the subject's data key like every
   * value (it says roughly where a person lives), marked with "~" so rows
   * written before it was encrypted are still read (and sealed at start-up).
   */
  const sealTimezone = (dataKey: Buffer, subjectId: string, timezone: string | null | undefined) => (timezone ? `~${encryptValue(dataKey, subjectId, TIMEZONE_FIELD, timezone)}` : timezone);
  const openTimezone = (subject: Pick<store.SubjectRow, 'id' | 'keyVersion' | 'wrappedKey' | 'timezone'>, dataKey?: Buffer): string | null => {
    const stored = subject.timezone;
    if (!stored?.startsWith('~')) return stored;
    return String(decryptValue(dataKey ?? dataKeyOf(subject), subject.id, TIMEZONE_FIELD, stored.slice(1)));
  };

  /** The subject behind an app's ref; another app's ref and a made-up one look the same. */
  async function subjectOfRef(client: Tx | Database['read'], appId: string, ref: string): Promise<string | undefined> {
    if (!isRefShaped(ref)) return undefined;
    const found = await store.findRef(client, ref);
    return found && found.appId === appId ? found.subjectId : undefined;
  }

  const identifierFields = () =>
    Object.entries(policy.fields)
      .filter(([, f]) => f.kind === 'identifier')
      .map(([name]) => name);

  return { db, policy, keys, audit, refuse, violationError, normalizeAll, digestKeys, dataKeyOf, encryptValue, decryptValue, sealTimezone, openTimezone, subjectOfRef, identifierFields };
}

export type Vault = ReturnType<typeof createVault>;
