import type { Database, Tx } from '../../storage/database.ts';
import { execute, insertRows, placeholders, query } from '../../storage/raw-sql.ts';

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

/** An event as stored: `leafIndex` and its hashes are null until the integrator places it. */
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

/** Drivers return BIGINT as number, bigint or text and dates as Date or ISO text, by engine and path. */
const toNumber = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));
const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const toNullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const EVENT_SELECT =
  'SELECT no, id, at, actor_type AS "actorType", actor_id AS "actorId", action, decision, subject, purpose, fields, reasons, request_id AS "requestId", policy_version AS "policyVersion", leaf_index AS "leafIndex", leaf_hash AS "leafHash", chain_hash AS "chainHash" FROM audit_event';

type RawEvent = Omit<AuditRow, 'no' | 'at' | 'leafIndex'> & { no: unknown; at: unknown; leafIndex: unknown };

function decodeEvent(r: RawEvent): AuditRow {
  return { ...r, no: toNumber(r.no), at: toDate(r.at), leafIndex: toNullableNumber(r.leafIndex) };
}

const EVENT_COLUMNS = ['id', 'at', 'actor_type', 'actor_id', 'action', 'decision', 'subject', 'purpose', 'fields', 'reasons', 'request_id', 'policy_version'];

/** Writers append here, in their own transaction; no shared row is touched, so replicas never queue on one another. */
export async function insertEvents(tx: Tx, rows: NewAuditRow[]): Promise<void> {
  await insertRows(
    tx,
    'audit_event',
    EVENT_COLUMNS,
    rows.map((r) => [r.id, r.at, r.actorType, r.actorId, r.action, r.decision, r.subject, r.purpose, r.fields, r.reasons, r.requestId, r.policyVersion]),
  );
}

// ---- integration (one integrator at a time: the state row's lock) ----

/** Takes the integrator's lock (the state row, which no writer touches) and reads the state under it. */
export async function lockTreeState(tx: Tx): Promise<TreeStateRow> {
  await execute(tx, 'UPDATE audit_tree_state SET id = id WHERE id = 1');
  const [row] = await query<{ treeSize: unknown; chainHash: string; frontier: string }>(tx, 'SELECT tree_size AS "treeSize", chain_hash AS "chainHash", frontier FROM audit_tree_state WHERE id = 1');
  return { treeSize: toNumber(row!.treeSize), chainHash: row!.chainHash, frontier: JSON.parse(row!.frontier) as string[] };
}

export async function saveTreeState(tx: Tx, state: TreeStateRow): Promise<void> {
  await execute(tx, 'UPDATE audit_tree_state SET tree_size = ?, chain_hash = ?, frontier = ? WHERE id = 1', [state.treeSize, state.chainHash, JSON.stringify(state.frontier)]);
}

/** Committed events without a place, oldest insert first. */
export async function pendingEvents(tx: Tx, limit: number): Promise<AuditRow[]> {
  return (await query<RawEvent>(tx, `${EVENT_SELECT} WHERE leaf_index IS NULL ORDER BY no LIMIT ?`, [limit])).map(decodeEvent);
}

const PLACES_PER_STATEMENT = 250;

export async function placeEvents(tx: Tx, places: Array<{ no: number; leafIndex: number; leafHash: string; chainHash: string }>): Promise<void> {
  for (let i = 0; i < places.length; i += PLACES_PER_STATEMENT) {
    const chunk = places.slice(i, i + PLACES_PER_STATEMENT);
    // VALUES columns are column1..column4 on both engines; the casts type PostgreSQL's parameters.
    const values = chunk.map(() => '(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT))').join(', ');
    await execute(
      tx,
      `UPDATE audit_event SET leaf_index = v.column2, leaf_hash = v.column3, chain_hash = v.column4 FROM (VALUES ${values}) AS v WHERE audit_event.no = v.column1`,
      chunk.flatMap((p) => [p.no, p.leafIndex, p.leafHash, p.chainHash]),
    );
  }
}

export async function insertTreeNodes(tx: Tx, nodes: Array<{ level: number; index: number; hash: string }>): Promise<void> {
  if (nodes.length > 0) await insertRows(tx, 'audit_tree_node', ['level', 'idx', 'hash'], nodes.map((n) => [n.level, n.index, n.hash]));
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
  const [row] = await db.readRaw<{ treeSize: unknown; chainHash: string; frontier: string }>('SELECT tree_size AS "treeSize", chain_hash AS "chainHash", frontier FROM audit_tree_state WHERE id = 1');
  return { treeSize: toNumber(row!.treeSize), chainHash: row!.chainHash, frontier: JSON.parse(row!.frontier) as string[] };
}

/** Leaf hashes by leaf index (level 0 of the tree). */
export async function readLeafHashes(db: Database, indexes: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < indexes.length; i += 5000) {
    const chunk = indexes.slice(i, i + 5000);
    const rows = await db.readRaw<{ i: unknown; h: string | null }>(`SELECT leaf_index AS "i", leaf_hash AS "h" FROM audit_event WHERE leaf_index IN (${placeholders(chunk.length)})`, chunk);
    for (const r of rows) if (r.h !== null) out.set(toNumber(r.i), r.h);
  }
  return out;
}

export async function readTreeNodes(db: Database, level: number, indexes: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < indexes.length; i += 5000) {
    const chunk = indexes.slice(i, i + 5000);
    const rows = await db.readRaw<{ i: unknown; h: string }>(`SELECT idx AS "i", hash AS "h" FROM audit_tree_node WHERE level = ? AND idx IN (${placeholders(chunk.length)})`, [level, ...chunk]);
    for (const r of rows) out.set(toNumber(r.i), r.h);
  }
  return out;
}

/** Stored nodes in leaf-index order of their subtrees, for verification. */
export async function readTreeNodesUpTo(db: Database, level: number, beforeIndex: number, afterIndex: number, limit: number): Promise<Array<{ index: number; hash: string }>> {
  const rows = await db.readRaw<{ i: unknown; h: string }>('SELECT idx AS "i", hash AS "h" FROM audit_tree_node WHERE level = ? AND idx > ? AND idx < ? ORDER BY idx LIMIT ?', [level, afterIndex, beforeIndex, limit]);
  return rows.map((r) => ({ index: toNumber(r.i), hash: r.h }));
}

export async function storedNodeLevels(db: Database): Promise<number[]> {
  const rows = await db.readRaw<{ level: unknown }>('SELECT DISTINCT level FROM audit_tree_node');
  return rows.map((r) => toNumber(r.level)).sort((a, b) => a - b);
}

const HEAD_SELECT = 'SELECT tree_size AS "treeSize", root_hash AS "rootHash", signed_at AS "signedAt", signature FROM audit_tree_head';
type RawHead = { treeSize: unknown; rootHash: string; signedAt: unknown; signature: string };
const decodeHead = (r: RawHead): TreeHeadRow => ({ treeSize: toNumber(r.treeSize), rootHash: r.rootHash, signedAt: toDate(r.signedAt), signature: r.signature });

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

/** Events in leaf order from `afterIndex` (exclusive) up to `beforeIndex` (exclusive). */
export async function eventsInLeafOrder(db: Database, afterIndex: number, beforeIndex: number, limit: number): Promise<AuditRow[]> {
  return (await db.readRaw<RawEvent>(`${EVENT_SELECT} WHERE leaf_index > ? AND leaf_index < ? ORDER BY leaf_index LIMIT ?`, [afterIndex, beforeIndex, limit])).map(decodeEvent);
}

export async function hasPendingEvents(db: Database): Promise<boolean> {
  return (await db.readRaw('SELECT 1 AS "x" FROM audit_event WHERE leaf_index IS NULL LIMIT 1')).length > 0;
}

export async function countPendingEvents(db: Database): Promise<number> {
  const [row] = await db.readRaw<{ n: unknown }>('SELECT COUNT(*) AS "n" FROM audit_event WHERE leaf_index IS NULL');
  return toNumber(row?.n ?? 0);
}

/** Every event in insertion order, placed or not: for tests and tools that need what was written just now. */
export async function eventsInInsertOrder(db: Database, filter: { action?: string }, limit: number): Promise<AuditRow[]> {
  const where = filter.action ? ' WHERE action = ?' : '';
  return (await db.readRaw<RawEvent>(`${EVENT_SELECT}${where} ORDER BY no LIMIT ?`, [...(filter.action ? [filter.action] : []), limit])).map(decodeEvent);
}

export interface EventSearch {
  subjects?: string[];
  actor?: { type: string; id: string };
  purpose?: string;
  action?: string;
  decision?: string;
  reason?: string;
  from?: Date;
  to?: Date;
  /** Newest first: only events placed before this leaf index. */
  beforeIndex?: number;
}

/** Placed events matching every filter, newest (highest leaf index) first. */
export async function searchEvents(db: Database, search: EventSearch, limit: number): Promise<AuditRow[]> {
  const { where, params, add } = conditions('leaf_index IS NOT NULL');
  if (search.subjects) {
    if (search.subjects.length === 0) return [];
    add(`subject IN (${placeholders(search.subjects.length)})`, ...search.subjects);
  }
  if (search.actor) add('actor_type = ? AND actor_id = ?', search.actor.type, search.actor.id);
  if (search.purpose) add('purpose = ?', search.purpose);
  if (search.action) add('action = ?', search.action);
  if (search.decision) add('decision = ?', search.decision);
  // Reason codes are [a-z0-9-] (checked at the edge), so they carry no LIKE wildcard.
  if (search.reason) add('reasons LIKE ?', `%"code":"${search.reason}"%`);
  if (search.from) add('at >= ?', search.from);
  if (search.to) add('at < ?', search.to);
  if (search.beforeIndex !== undefined) add('leaf_index < ?', search.beforeIndex);
  return (await db.readRaw<RawEvent>(`${EVENT_SELECT} WHERE ${where.join(' AND ')} ORDER BY leaf_index DESC LIMIT ?`, [...params, limit])).map(decodeEvent);
}

export async function readStats(db: Database, fromHour: string, toHour: string): Promise<Array<{ hour: string; action: string; decision: string; reason: string; count: number }>> {
  const rows = await db.readRaw<{ hour: string; action: string; decision: string; reason: string; count: unknown }>(
    'SELECT hour, action, decision, reason, count FROM audit_stat_hour WHERE hour >= ? AND hour < ? ORDER BY hour',
    [fromHour, toHour],
  );
  return rows.map((r) => ({ ...r, count: toNumber(r.count) }));
}
