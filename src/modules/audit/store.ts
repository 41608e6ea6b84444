// Over 300 lines on purpose: every SQL statement of the audit trail (writers' inserts, the
// integrator's tree tiles and heads, officers' searches and stats) shares the row shapes decoded here.
import type { Database, Tx } from '../../storage/database.ts';
import { instant, integer, nullableInteger, type SqlInstant, type SqlInteger } from '../../storage/sql-values.ts';
import { execute, insertRows, insertStatements, placeholders, query, type SqlStatement, type TableRows } from '../../storage/raw-sql.ts';

/** An event as the writer stores it: no place in the log yet. */
export interface NewAuditRow {
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  decision: string;
  subject: string | null;
  purpose: string | null;
  fields: string;
  reasons: string;
  requestId: string | null;
  policyVersion: string;
}

/** An event with its place in the log: `leafIndex` and its hashes are null until the integrator places it. */
export interface AuditRow extends NewAuditRow {
  no: number;
  leafIndex: number | null;
  leafHash: string | null;
  chainHash: string | null;
}

export interface TreeStateRow {
  treeSize: number;
  chainHash: string;
  frontier: string[];
}

export interface TreeHeadRow {
  treeSize: number;
  rootHash: string;
  signedAt: Date;
  signature: string;
}

const EVENT_FIELDS =
  'e.no AS "no", e.id AS "id", e.at AS "at", e.actor_type AS "actorType", e.actor_id AS "actorId", e.action AS "action", e.decision AS "decision", e.subject AS "subject", e.purpose AS "purpose", e.fields AS "fields", e.reasons AS "reasons", e.request_id AS "requestId", e.policy_version AS "policyVersion"';
const EVENT_COLUMNS_AS = `${EVENT_FIELDS}, l.leaf_index AS "leafIndex", l.leaf_hash AS "leafHash", l.chain_hash AS "chainHash"`;
/** Events with their place, placed or not. */
const EVENT_SELECT = `SELECT ${EVENT_COLUMNS_AS} FROM audit_event e LEFT JOIN audit_leaf l ON l.event_no = e.no`;
/** Placed events only. */
const PLACED_SELECT = `SELECT ${EVENT_COLUMNS_AS} FROM audit_event e JOIN audit_leaf l ON l.event_no = e.no`;

type RawEvent = Omit<AuditRow, 'no' | 'at' | 'leafIndex'> & { no: SqlInteger; at: SqlInstant; leafIndex: SqlInteger | null };

function decodeEvent(r: RawEvent): AuditRow {
  // Written out rather than spread: verification decodes a million of these.
  return {
    no: integer(r.no),
    id: r.id,
    at: instant(r.at),
    actorType: r.actorType,
    actorId: r.actorId,
    action: r.action,
    decision: r.decision,
    subject: r.subject,
    purpose: r.purpose,
    fields: r.fields,
    reasons: r.reasons,
    requestId: r.requestId,
    policyVersion: r.policyVersion,
    leafIndex: nullableInteger(r.leafIndex),
    leafHash: r.leafHash,
    chainHash: r.chainHash,
  };
}

const EVENT_COLUMNS = ['id', 'at', 'actor_type', 'actor_id', 'action', 'decision', 'subject', 'purpose', 'fields', 'reasons', 'request_id', 'policy_version'];

/**
 * Writers append here, in their own transaction; no shared row is touched, so
 * replicas never queue on one another. A trigger queues each event in
 * audit_pending, in the same transaction, for the integrator.
 */
export function eventInserts(rows: NewAuditRow[]): SqlStatement[] {
  return insertStatements({ table: 'audit_event', columns: EVENT_COLUMNS, rows: rows.map(eventValues) });
}

const eventValues = (r: NewAuditRow) => [r.id, r.at, r.actorType, r.actorId, r.action, r.decision, r.subject, r.purpose, r.fields, r.reasons, r.requestId, r.policyVersion];

/**
 * Events written alone, with no transaction (reads, refusals), and the rows
 * other modules write with them (a contact's reservation), as one atomic write
 * (on PostgreSQL one statement); at most a few thousand.
 */
export async function insertEventsAlone(db: Database, rows: NewAuditRow[], alongside: readonly TableRows[] = []): Promise<void> {
  await db.writeAlone(eventWrites(rows, alongside));
}

/** Events and the rows other modules write with them, as the statements of one write. */
export const eventWrites = (rows: NewAuditRow[], alongside: readonly TableRows[]): SqlStatement[] => [...alongside.flatMap((write) => insertStatements(write)), ...eventInserts(rows)];

// ---- integration (one integrator at a time: the state row's lock) ----

/**
 * Takes the integrator's lock (the state row, which no writer touches) and
 * reads the state under it. With `skipIfTaken`, PostgreSQL answers undefined at
 * once when another replica's integrator holds the lock, instead of holding a
 * pooled connection while it waits (with four replicas, background
 * integrators queued there 80 ms a time). SQLite has one writer: no one else can hold it.
 */
export async function lockTreeState(tx: Tx, options: { skipIfTaken?: boolean } = {}): Promise<TreeStateRow | undefined> {
  // FOR UPDATE conflicts with the row lock of an UPDATE of the row, which replicas of earlier versions take.
  const lock = tx.unit.adapter.rowLock('update', { skipLocked: options.skipIfTaken });
  const [row] = await query<{ treeSize: SqlInteger; chainHash: string; frontier: string }>(
    tx,
    `SELECT tree_size AS "treeSize", chain_hash AS "chainHash", frontier FROM audit_tree_state WHERE id = 1${lock}`,
  );
  return row && { treeSize: integer(row.treeSize), chainHash: row.chainHash, frontier: JSON.parse(row.frontier) as string[] };
}

export async function saveTreeState(tx: Tx, state: TreeStateRow): Promise<void> {
  await execute(tx, 'UPDATE audit_tree_state SET tree_size = ?, chain_hash = ?, frontier = ? WHERE id = 1', [state.treeSize, state.chainHash, JSON.stringify(state.frontier)]);
}

/** Committed events waiting for a place, oldest insert first. */
export async function pendingEvents(tx: Tx, limit: number): Promise<AuditRow[]> {
  const sql = `SELECT ${EVENT_FIELDS}, NULL AS "leafIndex", NULL AS "leafHash", NULL AS "chainHash" FROM audit_pending p JOIN audit_event e ON e.no = p.no ORDER BY p.no LIMIT ?`;
  return (await query<RawEvent>(tx, sql, [limit])).map(decodeEvent);
}

/** Appends placed events to the log and takes them off the queue. */
export async function placeEvents(tx: Tx, places: Array<{ no: number; leafIndex: number; leafHash: string; chainHash: string }>): Promise<void> {
  await insertRows(
    tx,
    'audit_leaf',
    ['leaf_index', 'event_no', 'leaf_hash', 'chain_hash'],
    places.map((p) => [p.leafIndex, p.no, p.leafHash, p.chainHash]),
  );
  for (let i = 0; i < places.length; i += 5000) {
    const chunk = places.slice(i, i + 5000);
    await execute(
      tx,
      `DELETE FROM audit_pending WHERE no IN (${placeholders(chunk.length)})`,
      chunk.map((p) => p.no),
    );
  }
}

export async function insertTreeNodes(tx: Tx, nodes: Array<{ level: number; index: number; hash: string }>): Promise<void> {
  if (nodes.length > 0)
    await insertRows(
      tx,
      'audit_tree_node',
      ['level', 'idx', 'hash'],
      nodes.map((n) => [n.level, n.index, n.hash]),
    );
}

export async function insertTreeHead(tx: Tx, head: TreeHeadRow): Promise<void> {
  await insertRows(tx, 'audit_tree_head', ['tree_size', 'root_hash', 'signed_at', 'signature'], [[head.treeSize, head.rootHash, head.signedAt, head.signature]]);
}

export async function addStats(tx: Tx, rows: Array<{ hour: string; action: string; decision: string; reason: string; count: number }>): Promise<void> {
  for (const r of rows) {
    await execute(
      tx,
      'INSERT INTO audit_stat_hour (hour, action, decision, reason, count) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hour, action, decision, reason) DO UPDATE SET count = audit_stat_hour.count + excluded.count',
      [r.hour, r.action, r.decision, r.reason, r.count],
    );
  }
}

// ---- reads ----

export async function readTreeState(db: Database): Promise<TreeStateRow> {
  const [row] = await db.readRaw<{ treeSize: SqlInteger; chainHash: string; frontier: string }>(
    'SELECT tree_size AS "treeSize", chain_hash AS "chainHash", frontier FROM audit_tree_state WHERE id = 1',
  );
  return { treeSize: integer(row!.treeSize), chainHash: row!.chainHash, frontier: JSON.parse(row!.frontier) as string[] };
}

/** Leaf hashes by leaf index (level 0 of the tree). */
export async function readLeafHashes(db: Database, indexes: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < indexes.length; i += 5000) {
    const chunk = indexes.slice(i, i + 5000);
    const rows = await db.readRaw<{ i: SqlInteger; h: string }>(`SELECT leaf_index AS "i", leaf_hash AS "h" FROM audit_leaf WHERE leaf_index IN (${placeholders(chunk.length)})`, chunk);
    for (const r of rows) out.set(integer(r.i), r.h);
  }
  return out;
}

export async function readTreeNodes(db: Database, level: number, indexes: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < indexes.length; i += 5000) {
    const chunk = indexes.slice(i, i + 5000);
    const rows = await db.readRaw<{ i: SqlInteger; h: string }>(`SELECT idx AS "i", hash AS "h" FROM audit_tree_node WHERE level = ? AND idx IN (${placeholders(chunk.length)})`, [level, ...chunk]);
    for (const r of rows) out.set(integer(r.i), r.h);
  }
  return out;
}

/** Stored nodes of one level after `afterIndex`, in order, for verification. */
export async function readTreeNodesAfter(db: Database, level: number, afterIndex: number, limit: number): Promise<Array<{ index: number; hash: string }>> {
  const rows = await db.readRaw<{ i: SqlInteger; h: string }>('SELECT idx AS "i", hash AS "h" FROM audit_tree_node WHERE level = ? AND idx > ? ORDER BY idx LIMIT ?', [level, afterIndex, limit]);
  return rows.map((r) => ({ index: integer(r.i), hash: r.h }));
}

export async function storedNodeLevels(db: Database): Promise<number[]> {
  const rows = await db.readRaw<{ level: SqlInteger }>('SELECT DISTINCT level FROM audit_tree_node');
  return rows.map((r) => integer(r.level)).sort((a, b) => a - b);
}

const HEAD_SELECT = 'SELECT tree_size AS "treeSize", root_hash AS "rootHash", signed_at AS "signedAt", signature FROM audit_tree_head';
type RawHead = { treeSize: SqlInteger; rootHash: string; signedAt: SqlInstant; signature: string };
const decodeHead = (r: RawHead): TreeHeadRow => ({ treeSize: integer(r.treeSize), rootHash: r.rootHash, signedAt: instant(r.signedAt), signature: r.signature });

export async function latestTreeHead(client: Tx | Database): Promise<TreeHeadRow | undefined> {
  const sql = `${HEAD_SELECT} ORDER BY tree_size DESC LIMIT 1`;
  const rows = 'readRaw' in client ? await client.readRaw<RawHead>(sql) : await query<RawHead>(client, sql);
  return rows[0] ? decodeHead(rows[0]) : undefined;
}

export async function treeHeadsBetween(db: Database, range: { from?: Date; to?: Date; afterSize?: number }, limit: number): Promise<TreeHeadRow[]> {
  const { where, params, add } = conditions();
  if (range.from) add('signed_at >= ?', range.from);
  if (range.to) add('signed_at < ?', range.to);
  if (range.afterSize !== undefined) add('tree_size > ?', range.afterSize);
  const rows = await db.readRaw<RawHead>(`${HEAD_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY tree_size LIMIT ?`, [...params, limit]);
  return rows.map(decodeHead);
}

function conditions(...initial: string[]) {
  const where = [...initial];
  const params: unknown[] = [];
  return { where, params, add: (sql: string, ...values: unknown[]) => void (where.push(sql), params.push(...values)) };
}

/**
 * Leaves in order from `afterIndex` (exclusive) up to `beforeIndex` (exclusive),
 * each with its event; a leaf whose event is gone comes back with a null id.
 */
export async function leavesInOrder(db: Database, afterIndex: number, beforeIndex: number, limit: number): Promise<AuditRow[]> {
  const sql = `SELECT ${EVENT_COLUMNS_AS} FROM audit_leaf l LEFT JOIN audit_event e ON e.no = l.event_no WHERE l.leaf_index > ? AND l.leaf_index < ? ORDER BY l.leaf_index LIMIT ?`;
  return (await db.readRaw<RawEvent>(sql, [afterIndex, beforeIndex, limit])).map(decodeEvent);
}

/** The stored leaf hashes and chain hashes in leaf order (the tree check; no event content). */
export async function leafHashesInOrder(db: Database, afterIndex: number, beforeIndex: number, limit: number): Promise<Array<{ leafIndex: number; leafHash: string; chainHash: string }>> {
  const rows = await db.readRaw<{ i: SqlInteger; h: string; c: string }>(
    'SELECT leaf_index AS "i", leaf_hash AS "h", chain_hash AS "c" FROM audit_leaf WHERE leaf_index > ? AND leaf_index < ? ORDER BY leaf_index LIMIT ?',
    [afterIndex, beforeIndex, limit],
  );
  return rows.map((r) => ({ leafIndex: integer(r.i), leafHash: r.h, chainHash: r.c }));
}

export async function hasPendingEvents(db: Database): Promise<boolean> {
  return (await db.readRaw('SELECT 1 AS "x" FROM audit_pending LIMIT 1')).length > 0;
}

export async function countPendingEvents(db: Database): Promise<number> {
  const [row] = await db.readRaw<{ n: SqlInteger }>('SELECT COUNT(*) AS "n" FROM audit_pending');
  return integer(row?.n ?? 0);
}

/** Events that are neither placed nor queued: only someone editing the tables behind Custos's back makes one. */
export async function unaccountedEvents(db: Database, limit: number): Promise<Array<{ no: number; id: string }>> {
  const rows = await db.readRaw<{ no: SqlInteger; id: string }>(
    'SELECT e.no AS "no", e.id AS "id" FROM audit_event e WHERE NOT EXISTS (SELECT 1 FROM audit_leaf l WHERE l.event_no = e.no) AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.no = e.no) ORDER BY e.no LIMIT ?',
    [limit],
  );
  return rows.map((r) => ({ no: integer(r.no), id: r.id }));
}

/** Every event in insertion order, placed or not: for tests and tools that need what was written just now. */
export async function eventsInInsertOrder(db: Database, filter: { action?: string }, limit: number): Promise<AuditRow[]> {
  const where = filter.action ? ' WHERE e.action = ?' : '';
  return (await db.readRaw<RawEvent>(`${EVENT_SELECT}${where} ORDER BY e.no LIMIT ?`, [...(filter.action ? [filter.action] : []), limit])).map(decodeEvent);
}

export interface EventSearch {
  /** Only events placed below this leaf index: the tree size when the first page was read, so later pages never shift. */
  belowLeaf: number;
  subjects?: string[];
  /** Each must be the event's actor. */
  actors?: Array<{ type: string; id: string }>;
  purpose?: string;
  action?: string;
  decision?: string;
  reason?: string;
  from?: Date;
  to?: Date;
  /** Newest first: only events inserted before this one. */
  beforeNo?: number;
}

/**
 * Placed events matching every filter, newest (last inserted) first. Only
 * events below a fixed leaf index are seen, so a result does not change while
 * the trail grows, and each page walks the filter's index backwards from the cursor.
 */
export async function searchEvents(db: Database, search: EventSearch, limit: number): Promise<AuditRow[]> {
  const { where, params, add } = conditions('l.leaf_index < ?');
  params.push(search.belowLeaf);
  if (search.subjects) {
    if (search.subjects.length === 0) return [];
    add(`e.subject IN (${placeholders(search.subjects.length)})`, ...search.subjects);
  }
  for (const actor of search.actors ?? []) add('e.actor_type = ? AND e.actor_id = ?', actor.type, actor.id);
  if (search.purpose) add('e.purpose = ?', search.purpose);
  if (search.action) add('e.action = ?', search.action);
  if (search.decision) add('e.decision = ?', search.decision);
  // Reason codes are [a-z0-9-] (checked at the edge), so they carry no LIKE wildcard.
  if (search.reason) add('e.reasons LIKE ?', `%"code":"${search.reason}"%`);
  if (search.from) add('e.at >= ?', search.from);
  if (search.to) add('e.at < ?', search.to);
  if (search.beforeNo !== undefined) add('e.no < ?', search.beforeNo);
  return (await db.readRaw<RawEvent>(`${PLACED_SELECT} WHERE ${where.join(' AND ')} ORDER BY e.no DESC LIMIT ?`, [...params, limit])).map(decodeEvent);
}

export async function readStats(db: Database, fromHour: string, toHour: string): Promise<Array<{ hour: string; action: string; decision: string; reason: string; count: number }>> {
  const rows = await db.readRaw<{ hour: string; action: string; decision: string; reason: string; count: SqlInteger }>(
    'SELECT hour, action, decision, reason, count FROM audit_stat_hour WHERE hour >= ? AND hour < ? ORDER BY hour',
    [fromHour, toHour],
  );
  return rows.map((r) => ({ ...r, count: integer(r.count) }));
}
