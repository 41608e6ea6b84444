import { randomBytes, randomUUID } from 'node:crypto';
import { open, seal } from '../../keys/envelope.ts';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { Conflict, ConsentRequired, Forbidden, InvalidIdentifier, NotFound, PolicyViolation, type FieldProblem } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { isUniqueViolation, type Database, type Tx } from '../../storage/database.ts';
import { appendAuditEvent, appendAuditEvents } from '../audit/service.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { AuditEventInput } from '../audit/schema.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import { addKeyVersion, currentKeyVersion, readCurrentKeyVersion } from '../keys/store.ts';
import type { Policy } from '../policies/schema.ts';
import { appPseudonym, identifierDigest, isRefShaped, newRef, newSubjectId } from '../pseudonyms/derive.ts';
import { createIdentifierTagger, type IdentifierTagger } from './identifier-tagger.ts';
import { collectionViolations, grantedPurpose, type Violation } from './collection.ts';
import { normalizeIdentifier } from './normalize.ts';
import type { AttributeValue, SubjectWriteInput } from './schema.ts';
import * as store from './store.ts';

/** The app acting, as the auth layer established it. */
export interface AppCaller {
  clientId: string;
  purposes: readonly string[];
}

export interface SubjectServiceDeps {
  db: Database;
  policy: Policy;
  keys: KeyRing;
  audit: AuditGroupCommit;
  /** The consent module's check: throws ConsentRequired when a consent-based purpose has no active consent. */
  requireConsent: (subjectId: string, purpose: string) => Promise<'consent-active' | 'not-consent-based'>;
}

export interface SubjectView {
  ref: string;
  purpose: string;
  attributes: Record<string, AttributeValue>;
  identifiers: Record<string, string>;
  timezone: string | null;
}

const versionsUpTo = (current: number) => Array.from({ length: current }, (_, i) => i + 1);

export function createSubjectService(deps: SubjectServiceDeps) {
  const { db, policy, keys, audit } = deps;

  /** Refusals are accesses too: they are audited (committed) before the error goes out. */
  async function refuse(ctx: RequestContext, event: Omit<AuditEventInput, 'decision'>, error: Error): Promise<never> {
    await audit.record(ctx, { ...event, decision: 'deny' });
    throw error;
  }

  function violationError(violations: Violation[]): PolicyViolation {
    const detail = violations.map((v) => `${v.field}: ${v.reason}`).join('; ');
    return new PolicyViolation(`refused by the data policy: ${detail}`, violations.map((v) => ({ ...v })));
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

  function digestKeys(kind: string, value: string, versions: number[]): store.DigestKey[] {
    return versions.map((keyVersion) => ({ kind, keyVersion, digest: identifierDigest(keys.identifierKey(keyVersion), kind, value) }));
  }

  const dataKeyOf = (subject: Pick<store.SubjectRow, 'id' | 'keyVersion' | 'wrappedKey'>) => open(keys.wrappingKey(subject.keyVersion), subject.wrappedKey, subject.id);
  const encryptValue = (dataKey: Buffer, subjectId: string, field: string, value: unknown) => seal(dataKey, Buffer.from(canonicalJson(value), 'utf8'), `${subjectId}/${field}`);
  const decryptValue = (dataKey: Buffer, subjectId: string, field: string, sealed: string) => JSON.parse(open(dataKey, sealed, `${subjectId}/${field}`).toString('utf8')) as unknown;

  async function refFor(tx: Tx, appId: string, subjectId: string, at: Date): Promise<string> {
    const existing = await store.findRefOfApp(tx, appId, subjectId);
    if (existing) return existing;
    const ref = newRef();
    await store.insertRef(tx, { ref, appId, subjectId, createdAt: at });
    return ref;
  }

  /** The subject behind an app's ref; another app's ref and a made-up one look the same. */
  async function subjectOfRef(client: Tx | Database['read'], appId: string, ref: string): Promise<string | undefined> {
    if (!isRefShaped(ref)) return undefined;
    const found = await store.findRef(client, ref);
    return found && found.appId === appId ? found.subjectId : undefined;
  }

  /**
   * Creates or updates a subject. Without `ref`, the normalized identifiers
   * find the subject (or a new one is created); with `ref` (PATCH), the ref
   * names it and the identifiers must not belong to anyone else.
   */
  async function writeSubject(ctx: RequestContext, caller: AppCaller, input: SubjectWriteInput, ref?: string): Promise<{ ref: string; created: boolean; changed: string[] }> {
    const identifierNames = Object.keys(input.identifiers);
    const attributeNames = Object.keys(input.attributes);
    const named = [...identifierNames, ...attributeNames];
    const action = ref ? 'subjects.subject.update' : 'subjects.subject.write';
    const violations = collectionViolations(policy, caller.purposes, input.purpose, identifierNames, attributeNames);
    if (violations.length > 0) return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: violations.map((v) => ({ code: v.reason, detail: v.field })) }, violationError(violations));
    const { values: identifiers, problems } = normalizeAll(input.identifiers);
    if (problems.length > 0) return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: problems.map((p) => ({ code: 'invalid-identifier', detail: p.path })) }, new InvalidIdentifier(problems));

    const attempt = () =>
      db.transaction(async (tx) => {
        const now = new Date();
        await store.lockIdentifierIndex(tx, db.kind, 'write');
        const current = await currentKeyVersion(tx);
        const lookups = [...identifiers].flatMap(([kind, value]) => digestKeys(kind, value, versionsUpTo(current)));
        const owners = new Map<string, string[]>();
        for (const match of await store.findByDigests(tx, lookups)) {
          owners.set(match.subjectId, [...new Set([...(owners.get(match.subjectId) ?? []), match.kind])]);
        }

        let subjectId: string | undefined;
        if (ref) {
          subjectId = await subjectOfRef(tx, caller.clientId, ref);
          if (!subjectId) return { refused: new NotFound('no subject with this ref'), result: undefined };
        }
        const others = [...owners.keys()].filter((id) => id !== subjectId);
        if ((ref && others.length > 0) || (!ref && others.length > 1)) {
          const groups = [...owners.entries()].map(([id, fields]) => ({ fields, subject: id === subjectId ? 'this' : 'another' }));
          return {
            refused: new Conflict('these identifiers belong to different people; Custos never merges subjects silently. Correct the identifiers or update each subject separately.', {
              conflicts: groups.map((g) => ({ fields: g.fields.map((f) => `identifiers.${f}`) })),
            }),
            result: undefined,
          };
        }
        subjectId ??= others[0];

        let subject: store.SubjectRow;
        let dataKey: Buffer;
        const created = subjectId === undefined;
        if (subjectId === undefined) {
          dataKey = randomBytes(32);
          const id = newSubjectId();
          subject = { id, timezone: input.timezone ?? null, keyVersion: current, wrappedKey: seal(keys.wrappingKey(current), dataKey, id), createdAt: now, updatedAt: now };
          await store.insertSubject(tx, subject);
        } else {
          subject = (await store.findSubject(tx, subjectId))!;
          dataKey = dataKeyOf(subject);
        }

        const existing = created ? new Map<string, string>() : await store.readFields(tx, subject.id, named);
        const changes: store.ChangeRow[] = [];
        const record = (field: string, value: unknown) => {
          const before = existing.get(field);
          if (before !== undefined && value !== null && canonicalJson(decryptValue(dataKey, subject.id, field, before)) === canonicalJson(value)) return false;
          if (before === undefined && value === null) return false;
          const ciphertext = value === null ? null : encryptValue(dataKey, subject.id, field, value);
          changes.push({ id: randomUUID(), subjectId: subject.id, field, change: value === null ? 'remove' : 'set', ciphertext, purpose: input.purpose, actorId: ctx.actor.id ?? null, requestId: ctx.requestId, changedAt: now });
          return true;
        };
        for (const [kind, value] of identifiers) {
          if (record(kind, value)) await store.replaceIdentifier(tx, subject.id, digestKeys(kind, value, [current])[0]!);
        }
        for (const [field, value] of Object.entries(input.attributes)) record(field, value);
        for (const change of changes) {
          if (change.ciphertext === null) await store.removeField(tx, subject.id, change.field);
          else await store.writeField(tx, subject.id, change.field, change.ciphertext, now);
        }
        await store.insertChanges(tx, changes);
        if (!created) await store.touchSubject(tx, subject.id, now, input.timezone);
        const subjectRef = ref ?? (await refFor(tx, caller.clientId, subject.id, now));
        const changed = changes.map((c) => c.field);
        await appendAuditEvent(tx, ctx, {
          action: created ? 'subjects.subject.create' : action,
          decision: 'allow',
          subject: subject.id,
          purpose: input.purpose,
          fields: changed,
          reasons: changed.length === 0 ? [{ code: 'no-change' }] : [],
        });
        return { result: { ref: subjectRef, created, changed }, refused: undefined };
      });

    let outcome;
    try {
      outcome = await attempt();
    } catch (error) {
      // Two requests created the same new person at once; the loser retries and merges into the winner.
      if (!isUniqueViolation(error) && !isUniqueViolation((error as { cause?: unknown }).cause)) throw error;
      outcome = await attempt();
    }
    if (outcome.refused) {
      return refuse(ctx, { action, purpose: input.purpose, fields: named, reasons: [{ code: outcome.refused.code }] }, outcome.refused);
    }
    return outcome.result!;
  }

  async function readSubject(ctx: RequestContext, caller: AppCaller, ref: string, purpose: string): Promise<SubjectView> {
    const action = 'subjects.subject.read';
    const access = grantedPurpose(policy, caller.purposes, purpose);
    if ('violation' in access) return refuse(ctx, { action, purpose, reasons: [{ code: access.violation.reason }] }, readRefusal(access.violation));
    const found = isRefShaped(ref) ? await store.readSubjectByRef(db, ref, access.definition.read) : undefined;
    if (!found || found.subject.appId !== caller.clientId) return refuse(ctx, { action, purpose, reasons: [{ code: 'unknown-ref' }] }, new NotFound('no subject with this ref'));
    const { subject, fields: sealed } = found;
    const subjectId = subject.id;
    let basis: string;
    try {
      basis = await deps.requireConsent(subjectId, purpose);
    } catch (error) {
      if (error instanceof ConsentRequired) return refuse(ctx, { action, subject: subjectId, purpose, reasons: [{ code: 'no-consent' }] }, error);
      throw error;
    }
    const dataKey = dataKeyOf(subject);
    const view: SubjectView = { ref, purpose, attributes: {}, identifiers: {}, timezone: subject.timezone };
    for (const [field, ciphertext] of sealed) {
      const value = decryptValue(dataKey, subjectId, field, ciphertext);
      if (policy.fields[field]?.kind === 'identifier') view.identifiers[field] = appPseudonym(keys.appPseudonymKey, caller.clientId, field, String(value));
      else view.attributes[field] = value as AttributeValue;
    }
    // The values leave Custos only once their audit event is committed.
    await audit.record(ctx, { action, decision: 'allow', subject: subjectId, purpose, fields: [...sealed.keys()], reasons: [{ code: basis }] });
    return view;
  }

  /** Finds the subject holding one identifier and answers the caller's ref for it (minting one if needed). */
  async function lookupSubject(ctx: RequestContext, caller: AppCaller, purpose: string, identifier: { field: string; value: string }): Promise<{ ref: string }> {
    const action = 'subjects.subject.lookup';
    const event = { action, purpose, fields: [identifier.field] };
    const access = grantedPurpose(policy, caller.purposes, purpose);
    if ('violation' in access) return refuse(ctx, { ...event, reasons: [{ code: access.violation.reason }] }, readRefusal(access.violation));
    const definition = policy.fields[identifier.field];
    const lookupViolation: Violation | undefined = !definition
      ? { field: identifier.field, reason: 'unknown-field' }
      : definition.kind !== 'identifier'
        ? { field: identifier.field, reason: 'not-an-identifier' }
        : !access.definition.collect.includes(identifier.field)
          ? { field: identifier.field, reason: 'not-collected-for-purpose' }
          : undefined;
    if (lookupViolation) return refuse(ctx, { ...event, reasons: [{ code: lookupViolation.reason }] }, violationError([lookupViolation]));
    const normalized = normalizeIdentifier(definition!, identifier.value, policy.defaults.region);
    if ('problem' in normalized) return refuse(ctx, { ...event, reasons: [{ code: 'invalid-identifier' }] }, new InvalidIdentifier([{ path: identifier.field, message: normalized.problem }]));

    const current = await currentKeyVersion(db.read);
    const matches = await store.findByDigests(db.read, digestKeys(identifier.field, normalized.value, versionsUpTo(current)));
    const subjectId = matches[0]?.subjectId;
    if (!subjectId) return refuse(ctx, { ...event, reasons: [{ code: 'no-match' }] }, new NotFound('no subject holds this identifier'));
    return db.transaction(async (tx) => {
      const ref = await refFor(tx, caller.clientId, subjectId, new Date());
      await appendAuditEvent(tx, ctx, { ...event, decision: 'allow', subject: subjectId });
      return { ref };
    });
  }

  const identifierFields = () => Object.entries(policy.fields).filter(([, f]) => f.kind === 'identifier').map(([name]) => name);

  /**
   * `custos keys rotate`: adds a key version, then re-wraps every subject's data
   * key and re-computes its identifier pseudonyms under it, page by page. Refs
   * are random and stored, so they do not change. Lookups try every version up
   * to the current one, so they keep working while the rotation runs.
   */
  async function rotateKeys(ctx: RequestContext, onProgress?: (done: number) => void): Promise<{ version: number; subjects: number }> {
    const version = await db.transaction(async (tx) => {
      await store.lockIdentifierIndex(tx, db.kind, 'rotate');
      const next = (await currentKeyVersion(tx)) + 1;
      await addKeyVersion(tx, next, new Date());
      await appendAuditEvent(tx, ctx, { action: 'keys.version.add', decision: 'info', reasons: [{ code: 'version', detail: String(next) }] });
      return next;
    });
    const kinds = identifierFields();
    let done = 0;
    for (let after = ''; ; ) {
      const page = await store.subjectPage(db.read, after, ROTATION_PAGE_SIZE);
      if (page.length === 0) break;
      after = page.at(-1)!.id;
      await db.transaction(async (tx) => {
        await store.lockIdentifierIndex(tx, db.kind, 'rotate');
        // Re-read inside the transaction: a writer may have changed a subject since the page was read.
        const subjects = (await Promise.all(page.map((p) => store.findSubject(tx, p.id)))).filter((x): x is store.SubjectRow => x !== undefined && x.keyVersion < version);
        const sealed = await store.fieldsOfSubjects(tx, subjects.map((x) => x.id), kinds);
        const identifiers: Array<store.DigestKey & { subjectId: string }> = [];
        const dataKeys = new Map<string, Buffer>();
        for (const subject of subjects) {
          const dataKey = dataKeyOf(subject);
          dataKeys.set(subject.id, dataKey);
          await store.rewrapSubject(tx, subject.id, version, seal(keys.wrappingKey(version), dataKey, subject.id));
        }
        for (const field of sealed) {
          const value = String(decryptValue(dataKeys.get(field.subjectId)!, field.subjectId, field.field, field.ciphertext));
          identifiers.push({ ...digestKeys(field.field, value, [version])[0]!, subjectId: field.subjectId });
        }
        await store.reindexSubjects(tx, subjects.map((x) => x.id), identifiers);
      });
      done += page.length;
      onProgress?.(done);
    }
    await db.transaction((tx) => appendAuditEvent(tx, ctx, { action: 'keys.rotation.complete', decision: 'info', reasons: [{ code: 'subjects', detail: String(done) }, { code: 'version', detail: String(version) }] }));
    return { version, subjects: done };
  }

  /** `custos demo seed`: realistic fake customers, written through the same encryption and pseudonyms, in bulk. */
  async function seedSubjects(ctx: RequestContext, appId: string, count: number, onProgress?: (done: number) => void, options: { firstSerial?: number } = {}): Promise<{ created: number }> {
    const purpose = Object.keys(policy.purposes)[0]!;
    let created = 0;
    let serial = options.firstSerial ?? Math.floor(Math.random() * 50_000_000);
    // Batches run until `count` people were really created: a drawn number already taken is skipped and drawn again.
    while (created < count) {
      const size = Math.min(SEED_BATCH_SIZE, count - created);
      await db.transaction(async (tx) => {
        const current = await currentKeyVersion(tx);
        const now = new Date();
        const batch: Parameters<typeof store.insertSubjectsBulk>[1] = { subjects: [], identifiers: [], fields: [], changes: [], refs: [] };
        const events: AuditEventInput[] = [];
        for (let i = 0; i < size; i++) {
          const person = fakePerson(serial++);
          const id = newSubjectId();
          const dataKey = randomBytes(32);
          batch.subjects.push({ id, timezone: null, keyVersion: current, wrappedKey: seal(keys.wrappingKey(current), dataKey, id), createdAt: now, updatedAt: now });
          for (const [field, value] of Object.entries(person)) {
            if (!policy.fields[field]) continue;
            const ciphertext = encryptValue(dataKey, id, field, value);
            batch.fields.push({ subjectId: id, field, ciphertext, updatedAt: now });
            batch.changes.push({ id: randomUUID(), subjectId: id, field, change: 'set', ciphertext, purpose, actorId: ctx.actor.id ?? null, requestId: ctx.requestId, changedAt: now });
            if (policy.fields[field].kind === 'identifier') batch.identifiers.push({ ...digestKeys(field, String(value), [current])[0]!, subjectId: id });
          }
          batch.refs.push({ ref: newRef(), appId, subjectId: id, createdAt: now });
          events.push({ action: 'subjects.subject.create', decision: 'allow', subject: id, purpose, fields: Object.keys(person).filter((f) => policy.fields[f]), reasons: [{ code: 'demo-seed' }] });
        }
        // A re-run may draw numbers an earlier seed used; those people exist already and are skipped.
        const taken = new Set(await existingDigests(tx, batch.identifiers));
        const skip = new Set(batch.identifiers.filter((i) => taken.has(`${i.kind}:${i.digest}`)).map((i) => i.subjectId));
        const keep = <T extends { subjectId?: string; id?: string }>(rows: T[]) => rows.filter((r) => !skip.has((r.subjectId ?? r.id)!));
        await store.insertSubjectsBulk(tx, {
          subjects: batch.subjects.filter((x) => !skip.has(x.id)),
          identifiers: keep(batch.identifiers),
          fields: keep(batch.fields),
          changes: keep(batch.changes),
          refs: keep(batch.refs),
        });
        await appendAuditEvents(tx, ctx, events.filter((e) => !skip.has(e.subject!)));
        created += size - skip.size;
      });
      onProgress?.(created);
    }
    return { created };
  }

  /**
   * What contact authorization needs of a subject: its time zone and, when a
   * field is named, that identifier's current value (decrypted only then).
   */
  async function contactDetails(subjectId: string, field: string | undefined): Promise<{ timezone: string | null; value: string | null } | undefined> {
    const found = await store.readSubjectById(db, subjectId, field ?? null);
    if (!found) return undefined;
    return { timezone: found.timezone, value: found.ciphertext === null || !field ? null : String(decryptValue(dataKeyOf(found), subjectId, field, found.ciphertext)) };
  }

  /**
   * Campaign scrubbing in bulk: for each of the app's refs, the subject id, time
   * zone and, when a field is named, that identifier's pseudonyms (every key
   * version). Refs of other apps and unknown refs are absent from the answer.
   */
  async function contactDetailsByRefs(appId: string, refs: string[], field: string | undefined): Promise<Map<string, { subjectId: string; timezone: string | null; digests: string[] }>> {
    const rows = await store.readSubjectsByRefs(db, appId, refs.filter(isRefShaped), field ?? null);
    const versions = versionsUpTo(await currentKeyVersion(db.read));
    const out = new Map<string, { subjectId: string; timezone: string | null; digests: string[] }>();
    for (const [ref, row] of rows) {
      let digests: string[] = [];
      if (row.ciphertext !== null && field) {
        const value = String(decryptValue(dataKeyOf(row), row.id, field, row.ciphertext));
        digests = digestKeys(field, value, versions).map((k) => k.digest);
      }
      out.set(ref, { subjectId: row.id, timezone: row.timezone, digests });
    }
    return out;
  }

  /** Identifier pseudonyms of a normalized value under every key version up to the current one. */
  async function digestsOf(field: string, normalized: string): Promise<string[]> {
    const current = await readCurrentKeyVersion(db);
    return digestKeys(field, normalized, versionsUpTo(current)).map((k) => k.digest);
  }

  return {
    writeSubject,
    readSubject,
    lookupSubject,
    rotateKeys,
    seedSubjects,
    contactDetails,
    contactDetailsByRefs,
    digestsOf,
    currentDigest: async (field: string, normalized: string) => digestKeys(field, normalized, [await currentKeyVersion(db.read)])[0]!,
    /** For registries of millions of values: normalizes and tags them (see identifierTag) on `threads` worker threads. */
    async identifierTagger(field: string, threads: number): Promise<IdentifierTagger> {
      const version = await currentKeyVersion(db.read);
      const definition = policy.fields[field] ?? { kind: 'identifier' as const, sensitive: false };
      return createIdentifierTagger({ kind: field, definition, region: policy.defaults.region, keyVersion: version, key: keys.identifierKey(version) }, threads);
    },
    normalize: (field: string, raw: string) => normalizeIdentifier(policy.fields[field] ?? { kind: 'identifier', sensitive: false }, raw, policy.defaults.region),
    /**
     * For officers' searches: the subjects a value names, whether it is a ref
     * of any app, a subject pseudonym, or a raw identifier in any accepted
     * format (tried against every identifier field of the policy). The value is
     * only normalized and pseudonymized here, never stored.
     */
    async subjectsMatching(value: string): Promise<string[]> {
      if (isRefShaped(value)) {
        const found = await store.findRef(db.read, value);
        return found ? [found.subjectId] : [];
      }
      if (/^sub_[A-Za-z0-9_-]{22}$/.test(value)) return [value];
      const current = await currentKeyVersion(db.read);
      const keysToTry = identifierFields().flatMap((field) => {
        const normalized = normalizeIdentifier(policy.fields[field]!, value, policy.defaults.region);
        return 'value' in normalized ? digestKeys(field, normalized.value, versionsUpTo(current)) : [];
      });
      if (keysToTry.length === 0) return [];
      return [...new Set((await store.findByDigests(db.read, keysToTry)).map((m) => m.subjectId))];
    },
    /** For other modules (consent, contacts): the subject behind an app's ref, on the fast read path. */
    async subjectOfRef(appId: string, ref: string): Promise<string | undefined> {
      if (!isRefShaped(ref)) return undefined;
      return store.subjectIdOfRef(db, appId, ref);
    },
  };
}

const ROTATION_PAGE_SIZE = 500;
const SEED_BATCH_SIZE = 1000;

async function existingDigests(tx: Tx, keys: store.DigestKey[]): Promise<string[]> {
  return (await store.findDigests(tx, keys)).map((k) => `${k.kind}:${k.digest}`);
}

const GIVEN = ['Wei', 'Na', 'Fang', 'Lei', 'Jing', 'Min', 'Jun', 'Yan', 'Hao', 'Xin', 'Li', 'Tao'];
const FAMILY = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Zhao', 'Huang', 'Zhou', 'Wu'];
const PETS = ['cat', 'dog', 'bird', 'fish', 'rabbit'];
const MOBILE_PREFIXES = ['138', '139', '150', '151', '186', '187', '135', '136'];

/** A fake Chinese mobile customer; `serial` makes the number unique within one run. */
function fakePerson(serial: number): Record<string, unknown> {
  const prefix = MOBILE_PREFIXES[serial % MOBILE_PREFIXES.length]!;
  const number = String(Math.floor(serial / MOBILE_PREFIXES.length) % 100_000_000).padStart(8, '0');
  return {
    phone: `+86${prefix}${number}`,
    email: `customer.${serial.toString(36)}@example.com`,
    name: `${FAMILY[serial % FAMILY.length]} ${GIVEN[(serial >> 3) % GIVEN.length]}`,
    pets: [PETS[serial % PETS.length]!],
  };
}

function readRefusal(violation: Violation): Error {
  return violation.reason === 'purpose-not-granted'
    ? new Forbidden('this app is not granted the requested purpose')
    : new PolicyViolation('the purpose does not exist in the loaded policy', [{ ...violation }]);
}

export type SubjectService = ReturnType<typeof createSubjectService>;
