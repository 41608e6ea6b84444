import type { RequestContext } from '../../shared/request-context.ts';
import { addDuration, parseDuration, type Duration } from '../policies/duration.ts';
import type { RequestActionDeps, RequestActions } from './apply.ts';

export interface RetentionReport {
  dryRun: boolean;
  /** Subjects erased (or, in a dry run, that would be). */
  subjects: number;
  /** The same subjects counted under each purpose whose retention ran out; never values. */
  byPurpose: Record<string, number>;
  scanned: number;
}

const PAGE = 500;

/**
 * Retention: a subject is erased, through the same path as an approved
 * erasure, once every purpose it has activity under (writes, consent
 * changes, contacts) has a retention and that retention has run out since
 * the last such activity. A purpose without a retention, or no longer in the
 * policy, keeps the subject.
 */
export async function runRetention(deps: RequestActionDeps, actions: RequestActions, ctx: RequestContext, options: { dryRun: boolean; now?: Date }): Promise<RetentionReport> {
  const { policy, subjects } = deps;
  const now = options.now ?? new Date();
  const retention = new Map<string, Duration>();
  for (const [name, p] of Object.entries(policy.purposes)) if (p.retention) retention.set(name, parseDuration(p.retention)!);
  const report: RetentionReport = { dryRun: options.dryRun, subjects: 0, byPurpose: {}, scanned: 0 };
  if (retention.size === 0) return report;
  // Decided again for each subject under the erasure's hold on it: activity that landed after the page was read keeps the subject.
  const stillDue = async (id: string) => (await dueOf(deps, retention, [id], now)).has(id);

  for (let after = ''; ;) {
    const page = await subjects.subjectPage(after, PAGE);
    if (page.length === 0) break;
    after = page.at(-1)!.id;
    report.scanned += page.length;
    const due = await dueOf(
      deps,
      retention,
      page.map((s) => s.id),
      now,
    );
    report.subjects += due.size;
    for (const purposes of due.values()) for (const purpose of purposes) report.byPurpose[purpose] = (report.byPurpose[purpose] ?? 0) + 1;
    if (!options.dryRun && due.size > 0) await actions.erase(ctx, [...due.keys()], 'retention', stillDue);
    if (page.length < PAGE) break;
  }
  return report;
}

/** The subjects among `ids` whose every purpose of activity has a retention that ran out by `now`, with those purposes. */
async function dueOf(deps: RequestActionDeps, retention: Map<string, Duration>, ids: string[], now: Date): Promise<Map<string, string[]>> {
  const { subjects, consent, contacts } = deps;
  const last = new Map<string, Map<string, Date>>();
  const note = (rows: Array<{ subjectId: string; purpose: string; at: Date }>) => {
    for (const r of rows) {
      const purposes = last.get(r.subjectId) ?? new Map<string, Date>();
      last.set(r.subjectId, purposes);
      const seen = purposes.get(r.purpose);
      if (!seen || seen < r.at) purposes.set(r.purpose, r.at);
    }
  };
  note(await subjects.lastWritePerPurpose(ids));
  note(await consent.lastEntryPerPurpose(ids));
  note(await contacts.lastReservationPerPurpose(ids));
  const due = new Map<string, string[]>();
  for (const id of ids) {
    const purposes = last.get(id);
    if (!purposes || purposes.size === 0) continue;
    if ([...purposes].every(([purpose, at]) => retention.has(purpose) && addDuration(at, retention.get(purpose)!) <= now)) due.set(id, [...purposes.keys()]);
  }
  return due;
}
