import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { createKeyedBatches } from '../../storage/grouped-transactions.ts';
import { lockTable } from '../../storage/locks.ts';
import { execute, executeAll, insertRows, insertStatements, placeholders, query } from '../../storage/raw-sql.ts';
import { placeAlongside, type AlongsideColumns, type ReadAlongside } from '../../storage/alongside.ts';
import { instant, integer, type SqlInstant, type SqlInteger } from '../../storage/sql-values.ts';

export interface SubjectRow {
  id: string;
  timezone: string | null;
  keyVersion: number;
  wrappedKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChangeRow {
  id: string;
  subjectId: string;
  field: string;
  change: 'set' | 'remove';
  ciphertext: string | null;
  purpose: string;
  actorId: string | null;
  requestId: string | null;
  changedAt: Date;
}

export interface DigestKey {
  kind: string;
  keyVersion: number;
  digest: string;
}

/**
 * PostgreSQL: writers take the identifier index in ROW EXCLUSIVE mode before
 * reading the key version, and key rotation takes it in EXCLUSIVE mode, so no
 * writer can index a subject under a version that a rotation is retiring.
 * SQLite serialises all writers already.
 */
export async function lockIdentifierIndex(tx: Tx, mode: 'write' | 'rotate'): Promise<void> {
  await lockTable(tx, 'subject_identifier', mode === 'write' ? 'ROW EXCLUSIVE' : 'EXCLUSIVE');
}

export async function findByDigests(db: DbClient | Tx, keys: DigestKey[]): Promise<Array<{ kind: string; subjectId: string }>> {
  if (keys.length === 0) return [];
  return db.subjectIdentifier.findMany({ where: { OR: keys.map((k) => ({ kind: k.kind, keyVersion: k.keyVersion, digest: k.digest })) }, select: { kind: true, subjectId: true } });
}

type RefRow = { ref: string; appId: string; id: string; timezone: string | null; keyVersion: SqlInteger; wrappedKey: string; field: string | null; ciphertext: string | null } & Record<
  string,
  unknown
>;
type RefRead = { ref: string; fields: string[]; placed: ReturnType<typeof placeAlongside> };

// Reads of one shape at most in one statement: a few hundred refs, each with a few field rows.
const MAX_REFS_PER_READ = 200;
const refReads = new WeakMap<Database, ReturnType<typeof createKeyedBatches<RefRead, RefRow[]>>>();

/**
 * Reads of one shape (the same fields, and the same alongside columns with
 * the same values) that arrive together go as one statement for all their
 * refs, as the audit trail's group commit does for writes: under load one
 * statement serves many reads (each statement costs the gateway a socket
 * write and a reply to parse), and a read on its own waits one turn of the
 * event loop at most.
 */
function refReadsOf(db: Database) {
  let reads = refReads.get(db);
  if (!reads) {
    reads = createKeyedBatches<RefRead, RefRow[]>(MAX_REFS_PER_READ, async (_shape, items) => {
      const { fields, placed } = items[0]!;
      const refs = [...new Set(items.map((i) => i.ref))];
      const fieldFilter = fields.length > 0 ? `f.field IN (${placeholders(fields.length)})` : '1 = 0';
      const rows = await db.readRaw<RefRow>(
        `SELECT r.ref AS "ref", r.app_id AS "appId", s.id AS "id", s.timezone AS "timezone", s.key_version AS "keyVersion", s.wrapped_key AS "wrappedKey", f.field AS "field", f.ciphertext AS "ciphertext"${placed.select}
           FROM subject_ref r JOIN subject s ON s.id = r.subject_id
           LEFT JOIN subject_field f ON f.subject_id = s.id AND ${fieldFilter}
          WHERE ${db.adapter.inList('r.ref')}`,
        [...placed.params, ...fields, db.adapter.listParam(refs)],
      );
      const byRef = new Map<string, RefRow[]>(refs.map((ref) => [ref, []]));
      for (const row of rows) byRef.get(row.ref)?.push(row);
      return items.map((item) => byRef.get(item.ref)!);
    });
    refReads.set(db, reads);
  }
  return reads;
}

/**
 * One joined query for the hot read path: the ref, its subject, the requested
 * fields, and what another module reads alongside (the consent check),
 * shared with the concurrent reads of the same shape (refReadsOf).
 */
export async function readSubjectByRef<A extends AlongsideColumns = []>(
  db: Database,
  ref: string,
  fields: string[],
  alongside: A = [] as unknown as A,
): Promise<{ subject: Pick<SubjectRow, 'id' | 'timezone' | 'keyVersion' | 'wrappedKey'> & { appId: string }; fields: Map<string, string>; alongside: ReadAlongside<A> } | undefined> {
  const placed = placeAlongside(alongside, 's.id');
  const shape = JSON.stringify([fields, placed.select, placed.params]);
  const rows = await refReadsOf(db).run(shape, { ref, fields, placed });
  const first = rows[0];
  if (!first) return undefined;
  const subject = { appId: first.appId, id: first.id, timezone: first.timezone, keyVersion: integer(first.keyVersion), wrappedKey: first.wrappedKey };
  return { subject, fields: new Map(rows.filter((r) => r.field !== null).map((r) => [r.field!, r.ciphertext!])), alongside: placed.decode(first) as ReadAlongside<A> };
}

const IN_CHUNK = 5000;

export async function subjectIdOfRef(db: Database, appId: string, ref: string): Promise<string | undefined> {
  const [row] = await db.readRaw<{ subjectId: string }>('SELECT subject_id AS "subjectId" FROM subject_ref WHERE ref = ? AND app_id = ?', [ref, appId]);
  return row?.subjectId;
}

/** Hot path of contact authorization: a subject with one field's ciphertext, one plain query. */
export async function readSubjectById(
  db: Database,
  id: string,
  field: string | null,
): Promise<{ id: string; timezone: string | null; keyVersion: number; wrappedKey: string; ciphertext: string | null } | undefined> {
  const [row] = await db.readRaw<{ id: string; timezone: string | null; keyVersion: SqlInteger; wrappedKey: string; ciphertext: string | null }>(
    `SELECT s.id AS "id", s.timezone AS "timezone", s.key_version AS "keyVersion", s.wrapped_key AS "wrappedKey", f.ciphertext AS "ciphertext"
       FROM subject s LEFT JOIN subject_field f ON f.subject_id = s.id AND f.field = ? WHERE s.id = ?`,
    [field, id],
  );
  return row ? { ...row, keyVersion: integer(row.keyVersion) } : undefined;
}

/**
 * Bulk form for campaign scrubbing: ref → subject (with key and time zone) and one field's ciphertext.
 * `app_id || ''` keeps SQLite's planner on the ref index: offered the (app_id, subject_id) index for a
 * long IN list, it scanned all of the app's refs once per chunk (80,000 refs: 1.3 s instead of 0.2 s).
 */
export async function readSubjectsByRefs(
  db: Database,
  appId: string,
  refs: string[],
  field: string | null,
): Promise<Map<string, { id: string; timezone: string | null; keyVersion: number; wrappedKey: string; ciphertext: string | null }>> {
  const found = new Map<string, { id: string; timezone: string | null; keyVersion: number; wrappedKey: string; ciphertext: string | null }>();
  for (let i = 0; i < refs.length; i += IN_CHUNK) {
    const chunk = refs.slice(i, i + IN_CHUNK);
    const rows = await db.readRaw<{ ref: string; id: string; timezone: string | null; keyVersion: SqlInteger; wrappedKey: string; ciphertext: string | null }>(
      `SELECT r.ref AS "ref", s.id AS "id", s.timezone AS "timezone", s.key_version AS "keyVersion", s.wrapped_key AS "wrappedKey", f.ciphertext AS "ciphertext"
         FROM subject_ref r JOIN subject s ON s.id = r.subject_id
         LEFT JOIN subject_field f ON f.subject_id = s.id AND f.field = ?
        WHERE r.ref IN (${placeholders(chunk.length)}) AND r.app_id || '' = ?`,
      [field, ...chunk, appId],
    );
    for (const r of rows) found.set(r.ref, { id: r.id, timezone: r.timezone, keyVersion: integer(r.keyVersion), wrappedKey: r.wrappedKey, ciphertext: r.ciphertext });
  }
  return found;
}

export async function findSubject(db: DbClient | Tx, id: string): Promise<SubjectRow | undefined> {
  return (await db.subject.findUnique({ where: { id } })) ?? undefined;
}

const CHANGE_COLUMNS = ['id', 'subject_id', 'field', 'change', 'ciphertext', 'purpose', 'actor_id', 'request_id', 'changed_at'];

export async function insertChanges(tx: Tx, rows: ChangeRow[]): Promise<void> {
  if (rows.length > 0)
    await insertRows(
      tx,
      'subject_change',
      CHANGE_COLUMNS,
      rows.map((r) => [r.id, r.subjectId, r.field, r.change, r.ciphertext, r.purpose, r.actorId, r.requestId, r.changedAt]),
    );
}

export async function findRef(db: DbClient | Tx, ref: string): Promise<{ appId: string; subjectId: string } | undefined> {
  return (await db.subjectRef.findUnique({ where: { ref }, select: { appId: true, subjectId: true } })) ?? undefined;
}

export async function findRefOfApp(db: DbClient | Tx, appId: string, subjectId: string): Promise<string | undefined> {
  return (await db.subjectRef.findUnique({ where: { appId_subjectId: { appId, subjectId } }, select: { ref: true } }))?.ref;
}

/** Bulk load for `custos demo seed`. */
export async function insertSubjectsBulk(
  tx: Tx,
  rows: {
    subjects: SubjectRow[];
    identifiers: Array<DigestKey & { subjectId: string }>;
    fields: Array<{ subjectId: string; field: string; ciphertext: string; updatedAt: Date }>;
    changes: ChangeRow[];
    refs: Array<{ ref: string; appId: string; subjectId: string; createdAt: Date }>;
  },
): Promise<void> {
  await insertRows(
    tx,
    'subject',
    ['id', 'timezone', 'key_version', 'wrapped_key', 'created_at', 'updated_at'],
    rows.subjects.map((r) => [r.id, r.timezone, r.keyVersion, r.wrappedKey, r.createdAt, r.updatedAt]),
  );
  await insertRows(
    tx,
    'subject_identifier',
    ['kind', 'key_version', 'digest', 'subject_id'],
    rows.identifiers.map((r) => [r.kind, r.keyVersion, r.digest, r.subjectId]),
  );
  await insertRows(
    tx,
    'subject_field',
    ['subject_id', 'field', 'ciphertext', 'updated_at'],
    rows.fields.map((r) => [r.subjectId, r.field, r.ciphertext, r.updatedAt]),
  );
  await insertRows(
    tx,
    'subject_change',
    ['id', 'subject_id', 'field', 'change', 'ciphertext', 'purpose', 'actor_id', 'request_id', 'changed_at'],
    rows.changes.map((r) => [r.id, r.subjectId, r.field, r.change, r.ciphertext, r.purpose, r.actorId, r.requestId, r.changedAt]),
  );
  await insertRows(
    tx,
    'subject_ref',
    ['ref', 'app_id', 'subject_id', 'created_at'],
    rows.refs.map((r) => [r.ref, r.appId, r.subjectId, r.createdAt]),
  );
}

/** A page of an app's refs in subject order (the app's unique index on subject_ref), after `afterSubjectId`. */
export async function refsOfAppPage(db: Database, appId: string, afterSubjectId: string, size: number): Promise<Array<{ ref: string; subjectId: string }>> {
  return db.readRaw<{ ref: string; subjectId: string }>('SELECT ref AS "ref", subject_id AS "subjectId" FROM subject_ref WHERE app_id = ? AND subject_id > ? ORDER BY subject_id LIMIT ?', [
    appId,
    afterSubjectId,
    size,
  ]);
}

export async function subjectPage(db: DbClient | Tx, afterId: string, size: number): Promise<SubjectRow[]> {
  return db.subject.findMany({ where: { id: { gt: afterId } }, orderBy: { id: 'asc' }, take: size });
}

export async function fieldsOfSubjects(db: DbClient | Tx, subjectIds: string[], fields: string[]): Promise<Array<{ subjectId: string; field: string; ciphertext: string }>> {
  return db.subjectField.findMany({ where: { subjectId: { in: subjectIds }, field: { in: fields } }, select: { subjectId: true, field: true, ciphertext: true } });
}

export async function rewrapSubject(tx: Tx, id: string, keyVersion: number, wrappedKey: string): Promise<void> {
  await tx.subject.update({ where: { id }, data: { keyVersion, wrappedKey } });
}

export async function reindexSubjects(tx: Tx, subjectIds: string[], identifiers: Array<DigestKey & { subjectId: string }>): Promise<void> {
  await tx.subjectIdentifier.deleteMany({ where: { subjectId: { in: subjectIds } } });
  await insertRows(
    tx,
    'subject_identifier',
    ['kind', 'key_version', 'digest', 'subject_id'],
    identifiers.map((r) => [r.kind, r.keyVersion, r.digest, r.subjectId]),
  );
}

/** Erasure: every row of the subject, its wrapped data key with them; what was encrypted under it is unreadable from here on. */
/**
 * Holds a subject against every writer until the transaction ends, and says
 * whether it (still) exists. PostgreSQL: the row lock conflicts with the
 * foreign-key check each writer of the subject's rows makes (FOR KEY SHARE),
 * so writers in flight commit first and new ones wait, then fail if the
 * subject is gone; reads made after this one see every write that will ever
 * land for the subject. SQLite: the transaction holds the one write lock already.
 */
export async function holdSubject(tx: Tx, subjectId: string): Promise<boolean> {
  const lock = tx.unit.adapter.rowLock('update');
  return (await query(tx, `SELECT 1 AS held FROM subject WHERE id = ?${lock}`, [subjectId])).length > 0;
}

/** The subject row; every row that references it goes with it (ON DELETE CASCADE, migration 0016). */
export async function deleteSubject(tx: Tx, subjectId: string): Promise<boolean> {
  return (await tx.subject.deleteMany({ where: { id: subjectId } })).count > 0;
}

export async function readChanges(db: DbClient | Tx, subjectId: string): Promise<ChangeRow[]> {
  const rows = await db.subjectChange.findMany({ where: { subjectId }, orderBy: { changedAt: 'asc' } });
  return rows.map((r) => ({ ...r, change: r.change as ChangeRow['change'] }));
}

export async function refsOfSubject(db: DbClient | Tx, subjectId: string): Promise<Array<{ appId: string; createdAt: Date }>> {
  return db.subjectRef.findMany({ where: { subjectId }, select: { appId: true, createdAt: true }, orderBy: { createdAt: 'asc' } });
}

/** The last write under each purpose, per subject (retention). */
export async function lastChangePerPurpose(db: DbClient, subjectIds: string[]): Promise<Array<{ subjectId: string; purpose: string; at: Date }>> {
  if (subjectIds.length === 0) return [];
  const rows = await db.subjectChange.groupBy({ by: ['subjectId', 'purpose'], where: { subjectId: { in: subjectIds } }, _max: { changedAt: true } });
  return rows.map((r) => ({ subjectId: r.subjectId, purpose: r.purpose, at: r._max.changedAt! }));
}

/** Id lists in IN_CHUNK parts: statements stay well below both engines' parameter limits. */
const inChunks = <T>(list: T[]): T[][] => Array.from({ length: Math.ceil(list.length / IN_CHUNK) }, (_, i) => list.slice(i * IN_CHUNK, (i + 1) * IN_CHUNK));

/**
 * Who holds these digests, each with the digest it matched (writes, and bulk
 * loads skipping people held already): one statement per kind and key
 * version, an IN list over the primary key.
 */
export async function findOwnersOfDigests(tx: Tx, keys: DigestKey[]): Promise<Array<DigestKey & { subjectId: string }>> {
  const groups = new Map<string, DigestKey[]>();
  for (const key of keys) {
    const group = `${key.kind}\u0000${key.keyVersion}`;
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group)!.push(key);
  }
  const found: Array<DigestKey & { subjectId: string }> = [];
  for (const group of groups.values()) {
    for (const chunk of inChunks([...new Set(group.map((k) => k.digest))])) {
      const rows = await query<{ kind: string; keyVersion: SqlInteger; digest: string; subjectId: string }>(
        tx,
        `SELECT kind, key_version AS "keyVersion", digest, subject_id AS "subjectId" FROM subject_identifier WHERE kind = ? AND key_version = ? AND digest IN (${placeholders(chunk.length)})`,
        [group[0]!.kind, group[0]!.keyVersion, ...chunk],
      );
      found.push(...rows.map((r) => ({ ...r, keyVersion: integer(r.keyVersion) })));
    }
  }
  return found;
}

/**
 * Subjects read by writes that will change them: on PostgreSQL the rows are
 * locked now (FOR NO KEY UPDATE, which foreign-key checks of other writers do
 * not wait for) so that an erasure waiting for a row and a write never wait
 * for each other. A subject erased meanwhile is not in the answer.
 */
export async function findSubjectsForWrite(tx: Tx, ids: string[]): Promise<Map<string, SubjectRow>> {
  const out = new Map<string, SubjectRow>();
  for (const chunk of inChunks([...ids].sort())) {
    const rows = await query<{ id: string; timezone: string | null; keyVersion: SqlInteger; wrappedKey: string; createdAt: SqlInstant; updatedAt: SqlInstant }>(
      tx,
      `SELECT id, timezone, key_version AS "keyVersion", wrapped_key AS "wrappedKey", created_at AS "createdAt", updated_at AS "updatedAt" FROM subject WHERE id IN (${placeholders(chunk.length)}) ORDER BY id${tx.unit.adapter.rowLock('no-key-update')}`,
      chunk,
    );
    for (const row of rows) out.set(row.id, { ...row, keyVersion: integer(row.keyVersion), createdAt: instant(row.createdAt), updatedAt: instant(row.updatedAt) });
  }
  return out;
}

/** Some fields of many subjects, in the caller's transaction: subject → field → ciphertext. */
export async function readFieldsOfSubjects(tx: Tx, subjectIds: string[], fields: string[]): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  if (fields.length === 0) return out;
  for (const chunk of inChunks(subjectIds)) {
    const rows = await query<{ subjectId: string; field: string; ciphertext: string }>(
      tx,
      `SELECT subject_id AS "subjectId", field, ciphertext FROM subject_field WHERE subject_id IN (${placeholders(chunk.length)}) AND field IN (${placeholders(fields.length)})`,
      [...chunk, ...fields],
    );
    for (const r of rows) {
      if (!out.has(r.subjectId)) out.set(r.subjectId, new Map());
      out.get(r.subjectId)!.set(r.field, r.ciphertext);
    }
  }
  return out;
}

/** The refs these apps hold of these subjects: `${appId}\0${subjectId}` → ref. */
export async function refsOfApps(tx: Tx, appIds: string[], subjectIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (appIds.length === 0) return out;
  for (const chunk of inChunks(subjectIds)) {
    const rows = await query<{ ref: string; appId: string; subjectId: string }>(
      tx,
      `SELECT ref, app_id AS "appId", subject_id AS "subjectId" FROM subject_ref WHERE app_id IN (${placeholders(appIds.length)}) AND subject_id IN (${placeholders(chunk.length)})`,
      [...appIds, ...chunk],
    );
    for (const r of rows) out.set(`${r.appId}\u0000${r.subjectId}`, r.ref);
  }
  return out;
}

export async function insertSubjects(tx: Tx, rows: SubjectRow[]): Promise<void> {
  if (rows.length > 0)
    await insertRows(
      tx,
      'subject',
      ['id', 'timezone', 'key_version', 'wrapped_key', 'created_at', 'updated_at'],
      rows.map((r) => [r.id, r.timezone, r.keyVersion, r.wrappedKey, r.createdAt, r.updatedAt]),
    );
}

/** One value per identifier kind: the subjects' digests of these kinds go, for new ones to take their place. */
export async function deleteIdentifierKinds(tx: Tx, replacing: Array<{ subjectId: string; kinds: string[] }>): Promise<void> {
  for (const { subjectId, kinds } of replacing) await execute(tx, `DELETE FROM subject_identifier WHERE subject_id = ? AND kind IN (${placeholders(kinds.length)})`, [subjectId, ...kinds]);
}

export async function insertIdentifiers(tx: Tx, rows: Array<DigestKey & { subjectId: string }>): Promise<void> {
  if (rows.length > 0)
    await insertRows(
      tx,
      'subject_identifier',
      ['kind', 'key_version', 'digest', 'subject_id'],
      rows.map((k) => [k.kind, k.keyVersion, k.digest, k.subjectId]),
    );
}

export async function removeFields(tx: Tx, fields: Array<{ subjectId: string; field: string }>): Promise<void> {
  for (const { subjectId, field } of fields) await execute(tx, 'DELETE FROM subject_field WHERE subject_id = ? AND field = ?', [subjectId, field]);
}

/** Sets these fields' values (inserted, or replacing the old), a statement for the lot. */
export async function writeFieldsOfSubjects(tx: Tx, fields: Array<{ subjectId: string; field: string; ciphertext: string }>, at: Date): Promise<void> {
  if (fields.length === 0) return;
  await executeAll(
    tx,
    insertStatements(
      { table: 'subject_field', columns: ['subject_id', 'field', 'ciphertext', 'updated_at'], rows: fields.map((f) => [f.subjectId, f.field, f.ciphertext, at]) },
      { replaceOn: ['subject_id', 'field'] },
    ),
  );
}

/** The subjects were written now; those with a (sealed) time zone given get it. */
export async function touchSubjects(tx: Tx, subjects: Array<{ id: string; timezone: string | undefined }>, at: Date): Promise<void> {
  const plain = subjects.filter((s) => s.timezone === undefined).map((s) => s.id);
  for (const chunk of inChunks(plain)) await execute(tx, `UPDATE subject SET updated_at = ? WHERE id IN (${placeholders(chunk.length)})`, [at, ...chunk]);
  for (const s of subjects) if (s.timezone !== undefined) await execute(tx, 'UPDATE subject SET updated_at = ?, timezone = ? WHERE id = ?', [at, s.timezone, s.id]);
}

export async function insertRefs(tx: Tx, rows: Array<{ ref: string; appId: string; subjectId: string; createdAt: Date }>): Promise<void> {
  if (rows.length > 0)
    await insertRows(
      tx,
      'subject_ref',
      ['ref', 'app_id', 'subject_id', 'created_at'],
      rows.map((r) => [r.ref, r.appId, r.subjectId, r.createdAt]),
    );
}
