import { ValidationError } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import type { AuditGroupCommit } from './group-commit.ts';
import type { AuditEvent, AuditReason } from './schema.ts';
import { auditVocabulary, toAuditEvent, unknownName } from './service.ts';
import { readStats, readTreeState, searchEvents, type EventSearch } from './store.ts';

/** An officer's filters: as the store searches (purpose, action, …), plus who, as officers name them. */
export interface AuditFilter extends Pick<EventSearch, 'purpose' | 'action' | 'decision' | 'reason' | 'from' | 'to'> {
  /** A ref of any app, a subject pseudonym or a raw identifier. */
  subject?: string;
  app?: string;
  /** Username or id. */
  officer?: string;
}

export interface AuditSearchDeps {
  db: Database;
  audit: AuditGroupCommit;
  /** Subject pseudonyms named by a ref, a pseudonym or a raw identifier (the subjects module). */
  subjectsMatching: (value: string) => Promise<string[]>;
  /** An officer's id from a username or id (the auth module); undefined when nobody has it. */
  officerId: (usernameOrId: string) => Promise<string | undefined>;
}

/** A position in one result: the tree size the first page saw, and the last event shown. */
interface Cursor {
  belowLeaf: number;
  beforeNo: number;
}

const CURSOR = /^p([0-9]{1,16})\.([0-9]{1,19})$/;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`p${cursor.belowLeaf}.${cursor.beforeNo}`).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  const match = /^[A-Za-z0-9_-]{1,60}$/.test(cursor) ? CURSOR.exec(Buffer.from(cursor, 'base64url').toString('latin1')) : null;
  if (!match) throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API returned' }]);
  return { belowLeaf: Number(match[1]), beforeNo: Number(match[2]) };
}

/** Filter values that name no person, recorded as they are; the subject filter is recorded as its pseudonym only. */
const RECORDED_FILTERS = ['app', 'officer', 'purpose', 'action', 'decision', 'reason', 'from', 'to'] as const;
/** A search event's `fields` are the names of the filters used: names Custos declares, recorded as they are. */
export const AUDIT_FILTER_NAMES = ['subject', ...RECORDED_FILTERS];

export type ExportFormat = 'ndjson' | 'csv';

const CSV_COLUMNS = ['leafIndex', 'id', 'at', 'actorType', 'actorId', 'action', 'decision', 'subject', 'purpose', 'fields', 'reasons', 'requestId', 'policyVersion', 'leafHash'];

/** RFC 4180 quoting; a cell that a spreadsheet would run as a formula is prefixed with ' (OWASP CSV injection). */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(e: AuditEvent): string {
  const reasons = e.reasons.map((r) => (r.detail ? `${r.code}:${r.detail}` : r.code)).join(';');
  return (
    [e.leafIndex, e.id, e.at, e.actor.type, e.actor.id, e.action, e.decision, e.subject, e.purpose, e.fields.join(';'), reasons, e.requestId, e.policyVersion, e.leafHash].map(csvCell).join(',') +
    '\r\n'
  );
}

const EXPORT_PAGE = 1000;

/** Officers' queries over the trail. Every search and export is itself audited before anything is answered. */
export function createAuditSearch(deps: AuditSearchDeps) {
  const { db, audit } = deps;

  async function resolve(filter: AuditFilter, belowLeaf?: number): Promise<{ search: EventSearch; subjects: string[] }> {
    const search: EventSearch = {
      belowLeaf: belowLeaf ?? (await readTreeState(db)).treeSize,
      purpose: filter.purpose,
      action: filter.action,
      decision: filter.decision,
      reason: filter.reason,
      from: filter.from,
      to: filter.to,
    };
    let subjects: string[] = [];
    if (filter.subject !== undefined) search.subjects = subjects = await deps.subjectsMatching(filter.subject);
    // Every named actor must match, so an app and an officer together match nothing (no event has two actors).
    search.actors = [];
    if (filter.app !== undefined) search.actors.push({ type: 'app', id: filter.app });
    if (filter.officer !== undefined) {
      // An unknown officer matches nothing, like an unknown subject.
      search.actors.push({ type: 'officer', id: (await deps.officerId(filter.officer)) ?? `unknown:${filter.officer}` });
    }
    return { search, subjects };
  }

  async function record(ctx: RequestContext, action: 'audit.events.search' | 'audit.events.export', filter: AuditFilter, subjects: string[]): Promise<void> {
    const reasons: AuditReason[] = [];
    const known = auditVocabulary(db);
    // Filter values are the officer's text: kept as typed only when they name something Custos knows.
    const recorded: Record<(typeof RECORDED_FILTERS)[number], (value: string) => boolean> = {
      app: (v) => /^app_[a-z0-9]{1,40}$/.test(v),
      officer: (v) => /^[A-Za-z0-9._-]{1,64}$/.test(v),
      purpose: (v) => known?.purposes.has(v) ?? false,
      action: () => true,
      decision: () => true,
      reason: () => true,
      from: () => true,
      to: () => true,
    };
    for (const name of RECORDED_FILTERS) {
      const value = filter[name];
      if (value === undefined) continue;
      const text = value instanceof Date ? value.toISOString() : value;
      reasons.push({ code: `filter-${name}`, detail: recorded[name](text) ? text : unknownName(text) });
    }
    if (filter.subject !== undefined) reasons.push({ code: 'filter-subject', detail: `${subjects.length} subject(s) matched` });
    const fields = Object.keys(filter).filter((k) => filter[k as keyof AuditFilter] !== undefined);
    // One event per subject searched for, so that the subject's own access log shows the search.
    for (const subject of subjects.length > 0 ? subjects : [undefined]) await audit.record(ctx, { action, decision: 'info', subject, fields, reasons });
  }

  return {
    async search(ctx: RequestContext, filter: AuditFilter, page: { cursor?: string; limit: number }): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
      const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
      const { search, subjects } = await resolve(filter, cursor?.belowLeaf);
      await record(ctx, 'audit.events.search', filter, subjects);
      const rows = await searchEvents(db, { ...search, beforeNo: cursor?.beforeNo }, page.limit + 1);
      const shown = rows.slice(0, page.limit);
      return { events: shown.map(toAuditEvent), nextCursor: rows.length > page.limit ? encodeCursor({ belowLeaf: search.belowLeaf, beforeNo: shown.at(-1)!.no }) : null };
    },

    /**
     * Streams every matching event, newest first, page by page: memory stays
     * flat however large the trail, and `write` waits for the client (back-pressure).
     */
    async export(ctx: RequestContext, filter: AuditFilter, format: ExportFormat, write: (chunk: string) => Promise<void>): Promise<void> {
      const { search, subjects } = await resolve(filter);
      await record(ctx, 'audit.events.export', filter, subjects);
      if (format === 'csv') await write(CSV_COLUMNS.join(',') + '\r\n');
      for (let beforeNo: number | undefined; ;) {
        const rows = await searchEvents(db, { ...search, beforeNo }, EXPORT_PAGE);
        if (rows.length === 0) return;
        let chunk = '';
        for (const row of rows) {
          const event = toAuditEvent(row);
          chunk += format === 'csv' ? csvRow(event) : JSON.stringify(event) + '\n';
        }
        await write(chunk);
        if (rows.length < EXPORT_PAGE) return;
        beforeNo = rows.at(-1)!.no;
      }
    },

    /**
     * Every placed event about these subjects, newest first: a person's access
     * log. Not audited here; the caller audits the export it goes into.
     */
    async eventsAbout(subjects: string[]): Promise<AuditEvent[]> {
      if (subjects.length === 0) return [];
      const search: EventSearch = { belowLeaf: (await readTreeState(db)).treeSize, subjects };
      const events: AuditEvent[] = [];
      for (let beforeNo: number | undefined; ;) {
        const rows = await searchEvents(db, { ...search, beforeNo }, EXPORT_PAGE);
        events.push(...rows.map(toAuditEvent));
        if (rows.length < EXPORT_PAGE) return events;
        beforeNo = rows.at(-1)!.no;
      }
    },

    /** Counts per bucket (UTC hours or days) by decision, by action and decision, and by deny reason. */
    async stats(range: { from: Date; to: Date; bucket: 'hour' | 'day' }) {
      const hour = (d: Date) => d.toISOString().slice(0, 13);
      const rows = await readStats(db, hour(range.from), hour(new Date(range.to.getTime() + 3_599_999)));
      const width = range.bucket === 'day' ? 10 : 13;
      type Bucket = { start: string; total: number; byDecision: Record<string, number>; byAction: Record<string, Record<string, number>>; denyReasons: Record<string, number> };
      const buckets = new Map<string, Bucket>();
      for (const r of rows) {
        const key = r.hour.slice(0, width);
        let b = buckets.get(key);
        if (!b) buckets.set(key, (b = { start: range.bucket === 'day' ? `${key}T00:00:00.000Z` : `${key}:00:00.000Z`, total: 0, byDecision: {}, byAction: {}, denyReasons: {} }));
        if (r.reason === '') {
          b.total += r.count;
          b.byDecision[r.decision] = (b.byDecision[r.decision] ?? 0) + r.count;
          const action = (b.byAction[r.action] ??= {});
          action[r.decision] = (action[r.decision] ?? 0) + r.count;
        } else {
          b.denyReasons[r.reason] = (b.denyReasons[r.reason] ?? 0) + r.count;
        }
      }
      return { bucket: range.bucket, from: range.from.toISOString(), to: range.to.toISOString(), buckets: [...buckets.values()] };
    },
  };
}

export type AuditSearch = ReturnType<typeof createAuditSearch>;
