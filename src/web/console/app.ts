import { bars, stackedColumns } from './charts.ts';
import { fromHex, leafHashOf, toHex, verifyConsistency, verifyInclusion, type LeafEvent } from './merkle.ts';

/**
 * The officers' console. The session token lives in this tab's session
 * storage and goes out only as a Bearer header, so no cookie is sent by the
 * browser on its own and no request can be forged from another site (no CSRF).
 * What a role may not do is neither shown nor allowed by the API.
 */
type Me = { username: string; role: 'auditor' | 'privacy-agent' | 'admin' };
type PrivacyRequest = { id: string; type: string; status: string; dueAt: string; overdue: boolean; decisionReason: string | null; correctionFields: string[]; steps: Array<{ step: string; at: string; actor: string; detail: string | null }> };
type AuditEvent = LeafEvent & { leafHash: string | null };
type TreeHead = { treeSize: number; rootHash: string; timestamp: number; signature: string };

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const token = () => sessionStorage.getItem('custos.console.token');
let me: Me | undefined;

function problem(error: unknown): void {
  $('#problem').textContent = error instanceof Error ? error.message : String(error);
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  $('#problem').textContent = '';
  const response = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(token() ? { authorization: `Bearer ${token()}` } : {}), ...(init.headers ?? {}) } });
  if (response.status === 401 && token()) signOut();
  const body = (await response.json().catch(() => ({}))) as T & { detail?: string };
  if (!response.ok) throw new Error(body.detail ?? `HTTP ${response.status}`);
  return body;
}

const cell = (text: string) => Object.assign(document.createElement('td'), { textContent: text });
const row = (cells: string[]) => {
  const tr = document.createElement('tr');
  tr.append(...cells.map(cell));
  return tr;
};

function show(view: string): void {
  for (const id of ['sign-in', 'overview', 'requests', 'audit', 'people', 'integrity']) $(`#${id}`).hidden = id !== view;
  if (view === 'overview') void loadOverview().catch(problem);
  if (view === 'requests') void loadQueue().catch(problem);
  if (view === 'integrity') void checkIntegrity().catch(problem);
}

function signOut(): void {
  sessionStorage.removeItem('custos.console.token');
  me = undefined;
  $('#nav').hidden = true;
  show('sign-in');
}

async function enter(): Promise<void> {
  me = await call<Me>('/v1/officers/me');
  $('#who').textContent = `${me.username} (${me.role})`;
  $('#nav').hidden = false;
  const allowed = [...document.querySelectorAll<HTMLButtonElement>('nav [data-view]')].filter((b) => b.dataset.roles!.split(' ').includes(me!.role));
  document.querySelectorAll<HTMLButtonElement>('nav [data-view]').forEach((b) => (b.hidden = !allowed.includes(b)));
  show(allowed[0]!.dataset.view!);
}

// --- overview -------------------------------------------------------------

type Stats = { buckets: Array<{ start: string; byAction: Record<string, Record<string, number>>; denyReasons: Record<string, number> }> };

/** The last 30 days, per day: what a compliance officer reports upward. */
async function loadOverview(): Promise<void> {
  const stats = await call<Stats>('/v1/audit/stats?bucket=day');
  const days: string[] = [];
  for (let t = Date.now() - 29 * 86_400_000; days.length < 30; t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  const byDay = new Map(stats.buckets.map((b) => [b.start.slice(0, 10), b]));
  const count = (day: string, action: string, decision: string) => byDay.get(day)?.byAction[action]?.[decision] ?? 0;
  const closed = ['requests.request.complete', 'requests.request.reject', 'requests.request.lock', 'requests.request.expire'];
  $('#chart-contacts').replaceChildren(
    stackedColumns(days, [
      { name: 'allowed', colour: '#2a9d8f', values: days.map((d) => count(d, 'contacts.authorize', 'allow')) },
      { name: 'refused', colour: '#c0392b', values: days.map((d) => count(d, 'contacts.authorize', 'deny')) },
    ]),
  );
  const reasons = new Map<string, number>();
  for (const b of stats.buckets) for (const [reason, n] of Object.entries(b.denyReasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  const named = ['frequency-cap', 'quiet-hours', 'do-not-call', 'no-consent', 'topic-opted-out', 'opted-out'];
  $('#chart-reasons').replaceChildren(bars(named.map((name) => ({ name, value: reasons.get(name) ?? 0 }))));
  $('#chart-requests').replaceChildren(
    stackedColumns(days, [
      { name: 'opened', colour: '#457b9d', values: days.map((d) => count(d, 'requests.request.submit', 'info')) },
      { name: 'closed', colour: '#e9c46a', values: days.map((d) => closed.reduce((sum, a) => sum + count(d, a, 'info') + count(d, a, 'allow'), 0)) },
    ]),
  );
  const total = (action: string, decision: string) => days.reduce((sum, d) => sum + count(d, action, decision), 0);
  $('#totals').textContent = `Last 30 days: ${total('contacts.authorize', 'allow')} contacts allowed, ${total('contacts.authorize', 'deny')} refused; ${total('requests.request.submit', 'info')} requests opened.`;
}

// --- requests -------------------------------------------------------------

async function loadQueue(): Promise<void> {
  const form = new FormData($<HTMLFormElement>('#queue-form'));
  const query = new URLSearchParams([...form].filter(([, v]) => v !== '') as Array<[string, string]>);
  const { requests } = await call<{ requests: PrivacyRequest[] }>(`/v1/privacy-requests?${query}`);
  $('#queue').replaceChildren(
    ...requests.map((r) => {
      const tr = row([new Date(r.dueAt).toLocaleDateString(), r.type, r.status + (r.overdue ? ' (overdue)' : ''), r.id]);
      tr.dataset.id = r.id;
      if (r.overdue) tr.classList.add('overdue');
      tr.addEventListener('click', () => void openRequest(r.id).catch(problem));
      return tr;
    }),
  );
}

let opened: string | undefined;
async function openRequest(id: string): Promise<void> {
  const r = await call<PrivacyRequest>(`/v1/privacy-requests/${id}`);
  opened = id;
  $('#request').hidden = false;
  $('#request-title').textContent = `${r.type} · ${r.status}${r.correctionFields.length ? ` · fields: ${r.correctionFields.join(', ')}` : ''}`;
  $('#request-steps').replaceChildren(...r.steps.map((s) => Object.assign(document.createElement('li'), { textContent: `${new Date(s.at).toLocaleString()} — ${s.step} (${s.actor})${s.detail ? `: ${s.detail}` : ''}` })));
  $('#decision-form').hidden = r.status !== 'pending-approval';
}

async function decide(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const decision = (event.submitter as HTMLButtonElement).value;
  const reason = String(new FormData(event.target as HTMLFormElement).get('reason'));
  await call(`/v1/privacy-requests/${opened}/decision`, { method: 'POST', body: JSON.stringify({ decision, reason }) });
  await openRequest(opened!);
  await loadQueue();
}

// --- audit trail ----------------------------------------------------------

let next: string | null = null;
const auditQuery = () => new URLSearchParams([...new FormData($<HTMLFormElement>('#audit-form'))].filter(([, v]) => v !== '') as Array<[string, string]>);

async function search(append: boolean): Promise<void> {
  const query = auditQuery();
  if (append && next) query.set('cursor', next);
  const page = await call<{ events: AuditEvent[]; nextCursor: string | null }>(`/v1/audit/events?${query}`);
  next = page.nextCursor;
  const rows = page.events.map((e) => {
    const tr = row([String(e.leafIndex ?? '…'), new Date(e.at).toLocaleString(), `${e.actor.type}${e.actor.id ? ` ${e.actor.id}` : ''}`, e.action, e.decision, e.purpose ?? '', e.reasons.map((r) => r.code).join(', ')]);
    tr.dataset.id = e.id;
    tr.addEventListener('click', () => void openEvent(e).catch(problem));
    return tr;
  });
  if (append) $('#events').append(...rows);
  else $('#events').replaceChildren(...rows);
  $('#more').hidden = !next;
}

/**
 * One event, proven in the browser: its leaf hash recomputed from its own
 * fields, then its inclusion proof checked against the signed tree head.
 */
async function openEvent(e: AuditEvent): Promise<void> {
  $('#event').hidden = false;
  $('#event-fields').textContent = JSON.stringify(e, null, 2);
  const verdict = $('#event-proof');
  verdict.className = '';
  verdict.textContent = 'checking…';
  const fail = (why: string) => {
    verdict.textContent = `not verified: ${why}`;
    verdict.className = 'bad';
  };
  if (e.leafIndex === null) return fail('the event is not placed in the log yet; try again in a moment');
  const leafHash = await leafHashOf(e);
  if (toHex(leafHash) !== e.leafHash) return fail('its fields do not hash to the leaf the log holds');
  const head = await call<TreeHead>('/v1/audit/tree-head');
  if (!(await signatureHolds(head))) return fail("the tree head's signature does not hold");
  if (e.leafIndex >= head.treeSize) return fail('the event is newer than the last signed tree head; try again in a moment');
  const proof = await call<{ auditPath: string[] }>(`/v1/audit/proofs/inclusion?index=${e.leafIndex}&treeSize=${head.treeSize}`);
  if (!(await verifyInclusion(e.leafIndex, head.treeSize, leafHash, proof.auditPath.map(fromHex), fromHex(head.rootHash)))) return fail('the inclusion proof does not lead to the signed root');
  verdict.textContent = `verified: leaf ${e.leafIndex} of the signed tree of ${head.treeSize.toLocaleString()} events`;
  verdict.className = 'ok';
}

async function exportCsv(): Promise<void> {
  const response = await fetch(`/v1/audit/events?${auditQuery()}&format=csv`, { headers: { authorization: `Bearer ${token()}` } });
  if (!response.ok) throw new Error(`export failed: HTTP ${response.status}`);
  const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(await response.blob()), download: 'custos-audit.csv' });
  link.click();
  URL.revokeObjectURL(link.href);
}

// --- people ---------------------------------------------------------------

type Consent = { purpose: string; status: string; channels: string[]; topics: string[]; withdrawnChannels: string[]; withdrawnTopics: string[] };
type Person = {
  subject: string;
  consents: { purposes: Consent[]; history: Array<{ purpose: string; kind: string; at: string; source: string; channels: string[] | null; topics: string[] | null }> };
  contacts: Array<{ at: string; app: string; channel: string; purpose: string; topic: string | null; outcome: string }>;
  doNotCall: DoNotCall | null;
};
type DoNotCall = { listed: boolean; sources: string[]; internalEntries: string[] };
let lookedUp: { kind: string; value: string } | undefined;

async function lookUp(): Promise<void> {
  const { kind, value } = lookedUp!;
  const answer = await call<{ people: Person[]; doNotCall?: DoNotCall }>(`/v1/people?${new URLSearchParams({ [kind]: value })}`);
  const person = answer.people[0];
  $('#person-none').hidden = Boolean(person);
  $('#person').hidden = !person;
  if (person) {
    $('#consents').replaceChildren(...person.consents.purposes.map((c) => row([c.purpose, c.status, c.channels.join(', '), c.topics.join(', '), [...c.withdrawnChannels, ...c.withdrawnTopics].join(', ')])));
    $('#consent-history').replaceChildren(...person.consents.history.map((h) => Object.assign(document.createElement('li'), { textContent: `${new Date(h.at).toLocaleString()} — ${h.purpose} ${h.kind} (${h.source})${h.channels ? ` channels: ${h.channels.join(', ')}` : ''}${h.topics ? ` topics: ${h.topics.join(', ')}` : ''}` })));
    $('#person-contacts').replaceChildren(...person.contacts.map((c) => row([new Date(c.at).toLocaleString(), c.app, c.channel, c.purpose, c.topic ?? '', c.outcome])));
  }
  const dnc = person?.doNotCall ?? answer.doNotCall ?? null;
  $('#dnc').hidden = !dnc;
  if (dnc) {
    $('#dnc-status').textContent = dnc.listed ? `Listed: ${dnc.sources.join(', ')}` : 'Not on any do-not-call list';
    $('#dnc-add').hidden = dnc.internalEntries.length > 0 || kind !== 'phone';
    $('#dnc-remove').hidden = dnc.internalEntries.length === 0;
    $('#dnc-remove').dataset.entry = dnc.internalEntries[0] ?? '';
  }
}

// --- integrity ------------------------------------------------------------

const base64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

/** The tree head's JWS, checked with the published key (Ed25519 in WebCrypto) and against the head's own fields. */
async function signatureHolds(head: TreeHead): Promise<boolean> {
  const [protectedHeader, payload, signature] = head.signature.split('.');
  const { keys } = await call<{ keys: JsonWebKey[] }>('/.well-known/jwks.json');
  const claims = JSON.parse(new TextDecoder().decode(base64url(payload!))) as { rootHash: string; treeSize: number; timestamp: number };
  if (claims.rootHash !== head.rootHash || claims.treeSize !== head.treeSize || claims.timestamp !== head.timestamp) return false;
  for (const jwk of keys) {
    const key = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['verify']);
    if (await crypto.subtle.verify({ name: 'Ed25519' }, key, base64url(signature!), new TextEncoder().encode(`${protectedHeader}.${payload}`))) return true;
  }
  return false;
}

async function checkIntegrity(): Promise<void> {
  const head = await call<TreeHead>('/v1/audit/tree-head');
  $('#tree-size').textContent = head.treeSize.toLocaleString();
  $('#signed-at').textContent = new Date(head.timestamp).toLocaleString();
  const signed = await signatureHolds(head);
  $('#signature').textContent = signed ? 'verified' : 'NOT VALID';
  $('#signature').className = signed ? 'ok' : 'bad';
  const seen = JSON.parse(localStorage.getItem('custos.console.head') ?? 'null') as TreeHead | null;
  let consistent = true;
  if (!seen) $('#consistency').textContent = 'first check in this browser';
  else if (seen.treeSize > head.treeSize) consistent = false;
  else {
    const { proof } = await call<{ proof: string[] }>(`/v1/audit/proofs/consistency?from=${seen.treeSize}&to=${head.treeSize}`);
    consistent = await verifyConsistency(seen.treeSize, head.treeSize, proof.map(fromHex), fromHex(seen.rootHash), fromHex(head.rootHash));
    $('#consistency').textContent = consistent ? `consistent with the head of ${seen.treeSize.toLocaleString()} events seen ${new Date(seen.timestamp).toLocaleString()}` : 'INCONSISTENT: the log was rewritten';
  }
  if (!consistent && seen && seen.treeSize > head.treeSize) $('#consistency').textContent = 'INCONSISTENT: the log is shorter than this browser saw';
  $('#consistency').className = consistent ? 'ok' : 'bad';
  if (signed && consistent) localStorage.setItem('custos.console.head', JSON.stringify(head));
}

// --- wiring ---------------------------------------------------------------

const guarded = <E>(handler: (event: E) => Promise<void>) => (event: E) => void handler(event).catch(problem);

$('#sign-in-form').addEventListener(
  'submit',
  guarded(async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const session = await call<{ access_token: string }>('/v1/officers/session', { method: 'POST', body: JSON.stringify({ username: form.get('username'), password: form.get('password') }) });
    sessionStorage.setItem('custos.console.token', session.access_token);
    await enter();
  }),
);
document.querySelectorAll<HTMLButtonElement>('nav [data-view]').forEach((b) => b.addEventListener('click', () => show(b.dataset.view!)));
$('#sign-out').addEventListener('click', signOut);
$('#queue-form').addEventListener('submit', guarded(async (event: SubmitEvent) => (event.preventDefault(), loadQueue())));
$('#decision-form').addEventListener('submit', guarded(decide));
$('#audit-form').addEventListener('submit', guarded(async (event: SubmitEvent) => (event.preventDefault(), search(false))));
$('#more').addEventListener('click', guarded(() => search(true)));
$('#export-csv').addEventListener('click', guarded(exportCsv));
$('#check').addEventListener('click', guarded(checkIntegrity));
$('#people-form').addEventListener(
  'submit',
  guarded(async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    lookedUp = { kind: String(form.get('kind')), value: String(form.get('value')) };
    await lookUp();
  }),
);
$('#dnc-add').addEventListener(
  'click',
  guarded(async () => {
    await call('/v1/dnc/entries', { method: 'POST', body: JSON.stringify({ phone: lookedUp!.value, note: 'added in the console' }) });
    await lookUp();
  }),
);
$('#dnc-remove').addEventListener(
  'click',
  guarded(async () => {
    await call(`/v1/dnc/entries/${$('#dnc-remove').dataset.entry}`, { method: 'DELETE' });
    await lookUp();
  }),
);
if (token()) void enter().catch(signOut);
else show('sign-in');
