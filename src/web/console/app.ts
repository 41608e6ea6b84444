import { $, button, row } from '../shared/dom.ts';
import { call, guarded, keepToken, problem, SessionEnded, token, whenSessionEnds, type Role } from './api.ts';
import { createApp, createOfficer, loadAdmin } from './admin.ts';
import { checkIntegrity, exportSearch, pageAsYouScroll, search } from './audit.ts';
import { stackedColumns, bars } from './charts.ts';
import { completeProviderSignIn, offerProvider, signInAtProvider, signInWithPassword } from './sign-in.ts';

/**
 * The officers' console: one page, a view per task. What a role may not do is
 * neither shown nor allowed by the API.
 */
type Me = { id: string; username: string | null; role: Role };
type PrivacyRequest = {
  id: string;
  type: string;
  status: string;
  dueAt: string;
  overdue: boolean;
  decisionReason: string | null;
  correctionFields: string[];
  steps: Array<{ step: string; at: string; actor: string; detail: string | null }>;
};

const VIEWS = ['overview', 'requests', 'audit', 'people', 'integrity', 'admin'];
let me: Me | undefined;
let current: string | undefined;

function show(view: string): void {
  current = view;
  $('#sign-in').hidden = view !== 'sign-in';
  for (const id of VIEWS) $(`#${id}`).hidden = id !== view;
  document.querySelectorAll<HTMLButtonElement>('nav [data-view]').forEach((b) => b.setAttribute('aria-current', String(b.dataset.view === view)));
  if (view === 'overview') void loadOverview().catch(problem);
  if (view === 'requests') void loadQueue().catch(problem);
  if (view === 'integrity') void checkIntegrity().catch(problem);
  if (view === 'admin') void loadAdmin(me!).catch(problem);
}

/** Signed out, or the session ended: back to sign-in, remembering the view (its forms stay as they were). */
function signedOut(resume: string | undefined): void {
  me = undefined;
  $('#nav').hidden = true;
  $('#sign-in').dataset.resume = resume ?? '';
  show('sign-in');
  void offerProvider().catch(problem);
}

async function enter(view?: string): Promise<void> {
  me = await call<Me>('/v1/officers/me');
  $('#who').textContent = `${me.username ?? me.id} (${me.role})`;
  $('#nav').hidden = false;
  const allowed = [...document.querySelectorAll<HTMLButtonElement>('nav [data-view]')].filter((b) => b.dataset.roles!.split(' ').includes(me!.role));
  document.querySelectorAll<HTMLButtonElement>('nav [data-view]').forEach((b) => (b.hidden = !allowed.includes(b)));
  const resume = allowed.find((b) => b.dataset.view === view);
  show((resume ?? allowed[0]!).dataset.view!);
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
  $('#totals').textContent =
    `Last 30 days: ${total('contacts.authorize', 'allow')} contacts allowed, ${total('contacts.authorize', 'deny')} refused; ${total('requests.request.submit', 'info')} requests opened.`;
}

// --- requests -------------------------------------------------------------

async function loadQueue(): Promise<void> {
  const form = new FormData($<HTMLFormElement>('#queue-form'));
  const query = new URLSearchParams([...form].filter(([, v]) => v !== '') as Array<[string, string]>);
  const { requests } = await call<{ requests: PrivacyRequest[] }>(`/v1/privacy-requests?${query}`);
  $('#queue').replaceChildren(
    ...requests.map((r) => {
      const tr = row([new Date(r.dueAt).toLocaleDateString(), r.type, r.status + (r.overdue ? ' (overdue)' : ''), button('Open', () => void openRequest(r.id).catch(problem), `Open request ${r.id}`)]);
      tr.dataset.id = r.id;
      if (r.overdue) tr.classList.add('overdue');
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
  $('#request-steps').replaceChildren(
    ...r.steps.map((s) => Object.assign(document.createElement('li'), { textContent: `${new Date(s.at).toLocaleString()} — ${s.step} (${s.actor})${s.detail ? `: ${s.detail}` : ''}` })),
  );
  $('#decision-form').hidden = r.status !== 'pending-approval';
}

async function decide(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const decision = (event.submitter as HTMLButtonElement).value;
  const reason = String(new FormData(event.target as HTMLFormElement).get('reason'));
  await call(`/v1/privacy-requests/${opened}/decision`, { method: 'POST', body: JSON.stringify({ decision, reason }) });
  (event.target as HTMLFormElement).reset();
  await openRequest(opened!);
  await loadQueue();
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
    $('#consents').replaceChildren(
      ...person.consents.purposes.map((c) => row([c.purpose, c.status, c.channels.join(', '), c.topics.join(', '), [...c.withdrawnChannels, ...c.withdrawnTopics].join(', ')])),
    );
    $('#consent-history').replaceChildren(
      ...person.consents.history.map((h) =>
        Object.assign(document.createElement('li'), {
          textContent: `${new Date(h.at).toLocaleString()} — ${h.purpose} ${h.kind} (${h.source})${h.channels ? ` channels: ${h.channels.join(', ')}` : ''}${h.topics ? ` topics: ${h.topics.join(', ')}` : ''}`,
        }),
      ),
    );
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

// --- wiring ---------------------------------------------------------------

const onSubmit = (selector: string, handler: (form: HTMLFormElement) => Promise<void>) =>
  $(selector).addEventListener(
    'submit',
    guarded(async (event: SubmitEvent) => {
      event.preventDefault();
      await handler(event.target as HTMLFormElement);
    }),
  );

whenSessionEnds(() => signedOut(current));
onSubmit('#sign-in-form', async (form) => {
  await signInWithPassword(form);
  await enter($('#sign-in').dataset.resume);
});
$('#oidc-sign-in').addEventListener(
  'click',
  guarded(() => signInAtProvider($('#sign-in').dataset.resume || undefined)),
);
document.querySelectorAll<HTMLButtonElement>('nav [data-view]').forEach((b) => b.addEventListener('click', () => show(b.dataset.view!)));
// Signing out ends the session at Custos (on every replica), not only in this tab; the tab forgets it either way.
$('#sign-out').addEventListener('click', () => {
  void call('/v1/officers/session', { method: 'DELETE' })
    .catch(() => undefined)
    .finally(() => {
      keepToken(null);
      signedOut(undefined);
    });
});
onSubmit('#queue-form', loadQueue);
$('#decision-form').addEventListener('submit', guarded(decide));
onSubmit('#audit-form', () => search(false));
$('#more').addEventListener(
  'click',
  guarded(() => search(true)),
);
pageAsYouScroll();
$('#export-csv').addEventListener(
  'click',
  guarded(() => exportSearch('csv')),
);
$('#export-ndjson').addEventListener(
  'click',
  guarded(() => exportSearch('ndjson')),
);
$('#check').addEventListener('click', guarded(checkIntegrity));
onSubmit('#people-form', async (form) => {
  const fields = new FormData(form);
  lookedUp = { kind: String(fields.get('kind')), value: String(fields.get('value')) };
  await lookUp();
});
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
onSubmit('#app-form', createApp);
onSubmit('#officer-form', createOfficer);

async function start(): Promise<void> {
  const returned = await completeProviderSignIn().catch((error: unknown) => {
    problem(error);
    return undefined;
  });
  if (token()) await enter(returned?.view);
  else signedOut(undefined);
}
void start().catch((error: unknown) => {
  keepToken(null);
  signedOut(undefined);
  if (!(error instanceof SessionEnded)) problem(error);
});
