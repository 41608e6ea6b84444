import { open, seal } from '../../crypto/envelope.ts';
import { NotFound } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Database } from '../../storage/database.ts';
import { createTransactionGroups } from '../../storage/grouped-transactions.ts';
import type { AuditGroupCommit } from '../audit/group-commit.ts';
import type { Notifier } from '../notifier/service.ts';
import { parseDuration, type Duration } from '../policies/duration.ts';
import type { Policy } from '../policies/schema.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import type { AttributeValue } from '../subjects/schema.ts';
import type { RequestActions } from './apply.ts';
import type { RequestStatus } from './schema.ts';
import { REQUEST_ID, sameHash, STATUS_TOKEN, tokenHash } from './secrets.ts';
import * as sqlStore from './store.ts';
import type { RequestRow, RequestStore } from './store.ts';

export interface RequestsDeps {
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  pseudonyms: IdentifierPseudonyms;
  notifier: Notifier;
  actions: RequestActions;
  sealingKey: Buffer;
  secretKey: Buffer;
  /** Requests for one identifier per hour: from one submitting address, and from all of them. */
  settings: { perIdentifierPerHour: number; perIdentifierCeilingPerHour: number };
  /** The requests' storage; the SQL store unless a test hands an in-memory one (createFakeRequestStore). */
  store?: RequestStore;
}

/** What is sealed with a request: the identifier it was made for, and a correction's values. */
export interface Sealed {
  identifier: string;
  correction?: Record<string, AttributeValue>;
}

/**
 * What every operation on a privacy request shares (one operation a file:
 * submit.ts, verify.ts, advance.ts, decide.ts, view.ts, sweep.ts): its
 * dependencies, its store, the submission groups, and the few helpers over
 * one request row.
 */
export interface Requests {
  deps: RequestsDeps;
  db: Database;
  policy: Policy;
  audit: AuditGroupCommit;
  pseudonyms: IdentifierPseudonyms;
  notifier: Notifier;
  actions: RequestActions;
  store: RequestStore;
  deadline: Duration;
  submissions: ReturnType<typeof createTransactionGroups>;
  /** A request's own context: the customer, named by the request. */
  customer(ctx: RequestContext, requestId: string): RequestContext;
  sealFor(id: string, value: Sealed): string;
  openFor(row: RequestRow): Sealed | undefined;
}

export function createRequests(deps: RequestsDeps): Requests {
  return {
    deps,
    db: deps.db,
    policy: deps.policy,
    audit: deps.audit,
    pseudonyms: deps.pseudonyms,
    notifier: deps.notifier,
    actions: deps.actions,
    store: deps.store ?? sqlStore,
    deadline: parseDuration(deps.policy.requests.deadline)!,
    submissions: createTransactionGroups(deps.db, { maxGroup: 200 }),
    customer: (ctx, requestId) => ({ ...ctx, actor: { type: 'customer', id: requestId } }),
    sealFor: (id, value) => seal(deps.sealingKey, Buffer.from(JSON.stringify(value)), `privacy-request/${id}`),
    openFor: (row) => (row.sealedIdentifier ? (JSON.parse(open(deps.sealingKey, row.sealedIdentifier, `privacy-request/${row.id}`).toString('utf8')) as Sealed) : undefined),
  };
}

export const notFound = () => new NotFound('no privacy request with this id for this status token');

/** A request whose code ran out is expired to whoever looks, before the sweep closes it. */
export function effectiveStatus(row: RequestRow, now: Date): RequestStatus {
  if (row.status === 'pending-verification' && row.codeExpiresAt && row.codeExpiresAt <= now) return 'expired';
  return row.status as RequestStatus;
}

/** The request a status token opens; another request's token and an unknown id answer the same 404. */
export async function requestFor(r: Requests, id: string, token: string | undefined): Promise<RequestRow> {
  const { db, store, deps } = r;
  if (!REQUEST_ID.test(id)) throw notFound();
  const row = await store.findRequest(db.read, id);
  if (!row) throw notFound();
  if (token !== undefined && !(STATUS_TOKEN.test(token) && sameHash(row.tokenHash, tokenHash(deps.secretKey, token)))) throw notFound();
  return row;
}
