import type { RequestRow, RequestStore, StepRow } from '../../../src/modules/requests/store.ts';
import type { FakeParticipant } from './fake-database.ts';

/**
 * The privacy requests' store in memory (RequestStore), with the SQL store's
 * semantics where the state machine depends on them: updateRequest moves a
 * row only from the status (and attempt count) the caller read, steps are
 * numbered on, the queue is ordered by due date then id.
 */
export function createFakeRequestStore(): RequestStore & FakeParticipant & { rows: Map<string, RequestRow>; steps: Map<string, StepRow[]> } {
  const rows = new Map<string, RequestRow>();
  const steps = new Map<string, StepRow[]>();
  const copy = (row: RequestRow): RequestRow => ({ ...row });
  return {
    rows,
    steps,
    snapshot() {
      const savedRows = new Map([...rows].map(([id, row]) => [id, copy(row)]));
      const savedSteps = new Map([...steps].map(([id, list]) => [id, [...list]]));
      return () => {
        rows.clear();
        steps.clear();
        savedRows.forEach((row, id) => rows.set(id, row));
        savedSteps.forEach((list, id) => steps.set(id, list));
      };
    },
    async insertRequest(_tx, row) {
      if (rows.has(row.id)) throw Object.assign(new Error('duplicate request id'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
      rows.set(row.id, copy(row));
    },
    async findRequest(_db, id) {
      const row = rows.get(id);
      return row && copy(row);
    },
    async updateRequest(_tx, id, from, data) {
      const row = rows.get(id);
      const expected = typeof from === 'string' ? { status: from } : from;
      if (!row || row.status !== expected.status || ('codeAttempts' in expected && row.codeAttempts !== expected.codeAttempts)) return false;
      rows.set(id, { ...row, ...data });
      return true;
    },
    async countRecentForIdentifier(_tx, digest, since, submitter) {
      const recent = [...rows.values()].filter((r) => r.identifierDigest === digest && r.createdAt >= since).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      const mine = recent.filter((r) => r.submitterDigest === submitter);
      return { all: recent.length, oldest: recent[0]?.createdAt, fromSubmitter: mine.length, oldestFromSubmitter: mine[0]?.createdAt };
    },
    async appendSteps(_tx, requestId, added, firstSeq) {
      if (added.length === 0) return;
      const list = steps.get(requestId) ?? [];
      const first = firstSeq ?? (list.at(-1)?.seq ?? 0) + 1;
      steps.set(requestId, [...list, ...added.map((s, i) => ({ ...s, requestId, seq: first + i }))]);
    },
    async stepsOf(_db, requestId) {
      return [...(steps.get(requestId) ?? [])];
    },
    async queuePage(_db, filter, limit) {
      return [...rows.values()]
        .filter((r) => (!filter.status || r.status === filter.status) && (!filter.type || r.type === filter.type))
        .filter((r) => !filter.overdueAt || (r.dueAt < filter.overdueAt && filter.openStatuses.includes(r.status)))
        .filter((r) => !filter.after || r.dueAt > filter.after.at || (r.dueAt.getTime() === filter.after.at.getTime() && r.id > filter.after.id))
        .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
        .map(copy);
    },
    async stuckVerified(_db, before, limit) {
      return [...rows.values()]
        .filter((r) => r.status === 'verified' && r.updatedAt < before)
        .slice(0, limit)
        .map((r) => r.id);
    },
    async stuckApproved(_db, before, limit) {
      return [...rows.values()]
        .filter((r) => r.status === 'approved' && r.updatedAt < before)
        .slice(0, limit)
        .map((r) => r.id);
    },
    async expiredUnverified(_db, now, limit) {
      return [...rows.values()]
        .filter((r) => r.status === 'pending-verification' && r.codeExpiresAt !== null && r.codeExpiresAt < now)
        .slice(0, limit)
        .map(copy);
    },
  };
}
