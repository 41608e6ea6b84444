import { $, row, saveFile } from '../shared/dom.ts';
import { messages, type Locale, type MessageKey } from './messages.ts';

/** The customer privacy center: submit a request, enter the code, follow it, download the export. No framework: one small module. */
type Options = { optOut: { channels: string[]; topics: Array<{ name: string; labels: Partial<Record<Locale, string>> }> }; correctable: string[] };
type Export = {
  held: boolean;
  fields: Array<{ field: string; value: unknown; withheld: string | null; heldFor: Array<{ purpose: string; description: string | null; retention: string | null }>; updatedAt: string }>;
  consents: { purposes: Array<{ purpose: string; status: string; grantedAt: string | null }> };
  contacts: Array<{ app: string; channel: string; purpose: string; at: string; outcome: string }>;
  accessLog: Array<{ at: string; by: string; actorType: string; action: string; purpose: string | null; fields: string[] }>;
};
type Request = { id: string; type: string; status: string; dueAt: string; decisionReason: string | null; steps: Array<{ step: string; at: string; detail: string | null }> };

const stored = (key: string) => sessionStorage.getItem(`custos.${key}`);
const keep = (key: string, value: string | null) => (value === null ? sessionStorage.removeItem(`custos.${key}`) : sessionStorage.setItem(`custos.${key}`, value));
let locale: Locale = (stored('locale') as Locale | null) ?? (navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en');
const t = (key: MessageKey, value?: string) => messages[locale][key].replace('{}', value ?? '');
/** A message for a name the policy chose (a channel), or the name itself when the catalogue has none. */
const named = (prefix: string, name: string) => (`${prefix}.${name}` in messages[locale] ? t(`${prefix}.${name}` as MessageKey) : name);
const words = (slug: string) => slug.replace(/-/g, ' ');

let options: Options | undefined;
let shownExport: Export | undefined;

function translate(): void {
  document.documentElement.lang = locale;
  document.querySelectorAll<HTMLElement>('[data-t]').forEach((el) => (el.textContent = t(el.dataset.t as MessageKey)));
  document.title = t('title');
  if (options) offerChoices(options);
  if (shownExport) showExport(shownExport);
}

/** The opt-out scope in plain words and the correctable fields, from the loaded policy. */
function offerChoices(o: Options): void {
  const checked = document.querySelector<HTMLInputElement>('input[name=scope]:checked')?.value ?? 'all';
  const choice = (value: string, text: string) => {
    const label = Object.assign(document.createElement('label'), { className: 'choice' });
    label.append(Object.assign(document.createElement('input'), { type: 'radio', name: 'scope', value, checked: value === checked }), ` ${text}`);
    return label;
  };
  $('#scope-choices').replaceChildren(
    choice('all', t('scope.all')),
    ...o.optOut.channels.map((c) => choice(`channel:${c}`, t('scope.channel', named('channel', c)))),
    ...o.optOut.topics.map((topic) => choice(`topic:${topic.name}`, t('scope.topic', topic.labels[locale] ?? words(topic.name)))),
  );
  const field = $<HTMLSelectElement>('#correction-field');
  const selected = field.value;
  field.replaceChildren(...o.correctable.map((f) => Object.assign(document.createElement('option'), { value: f, textContent: words(f), selected: f === selected })));
}

const when = (at: string | null) => (at ? new Date(at).toLocaleString(locale) : '');

/** The export as a page a person can read: what is held and why, consents, contacts, and who looked. */
function showExport(e: Export): void {
  shownExport = e;
  $('#export-view').hidden = false;
  $('#export-none').hidden = e.held;
  $('#export-held').hidden = !e.held;
  $('#export-fields').replaceChildren(
    ...e.fields.map((f) =>
      row([
        words(f.field),
        f.withheld ? t('export.withheld') : String(f.value),
        f.heldFor.map((h) => `${h.description ?? h.purpose}${h.retention ? ` (${t('export.keptFor', h.retention)})` : ''}`).join('; '),
        when(f.updatedAt),
      ]),
    ),
  );
  $('#export-consents').replaceChildren(...e.consents.purposes.map((c) => row([c.purpose, c.status, when(c.grantedAt)])));
  $('#export-contacts').replaceChildren(...e.contacts.map((c) => row([when(c.at), c.app, named('channel', c.channel), c.purpose, c.outcome])));
  $('#export-log').replaceChildren(
    ...e.accessLog.map((a) => row([when(a.at), a.actorType === 'app' ? a.by : named('who', a.actorType), named('action', a.action), a.purpose ?? '', a.fields.join(', ')])),
  );
}

function show(section: 'ask' | 'code' | 'follow'): void {
  for (const id of ['ask', 'code', 'follow']) $(`#${id}`).hidden = id !== section;
}

/** A refusal from the API: its problem code (RFC 9457 type) says which message to show. */
class Refusal extends Error {
  constructor(
    readonly code: string,
    detail: string,
    readonly attemptsLeft?: number,
    readonly requestStatus?: string,
  ) {
    super(detail);
  }
}

function problem(error: unknown): void {
  const key = error instanceof Refusal ? (`problem.${error.code}` as MessageKey) : undefined;
  const known =
    key && key in messages[locale]
      ? `${t(key)}${error instanceof Refusal && error.attemptsLeft !== undefined ? ` ${error.attemptsLeft}` : ''}`
      : error instanceof Error
        ? error.message
        : String(error);
  $('#problem').textContent = `${t('error')}: ${known}`;
}

async function call(path: string, init: RequestInit = {}): Promise<unknown> {
  $('#problem').textContent = '';
  const token = stored('token');
  const response = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) } });
  const body = (await response.json().catch(() => ({}))) as { type?: string; detail?: string; attemptsLeft?: number; requestStatus?: string };
  if (!response.ok) throw new Refusal(body.type?.split(':').pop() ?? 'error', body.detail ?? `HTTP ${response.status}`, body.attemptsLeft, body.requestStatus);
  return body;
}

function render(request: Request): void {
  show('follow');
  $('#status').textContent = t(`status.${request.status}` as MessageKey) ?? request.status;
  $('#status').dataset.status = request.status;
  $('#due').textContent = new Date(request.dueAt).toLocaleDateString(locale);
  $('#reason-row').hidden = !request.decisionReason;
  $('#reason').textContent = request.decisionReason ?? '';
  const list = $('#steps');
  list.replaceChildren(
    ...request.steps.map((s) =>
      Object.assign(document.createElement('li'), { textContent: `${new Date(s.at).toLocaleString(locale)} — ${named('step', s.step)}${s.detail && locale === 'en' ? ` (${s.detail})` : ''}` }),
    ),
  );
  $('#locked-help').hidden = request.status !== 'locked';
  const exportReady = request.type === 'access' && request.status === 'completed';
  $('#download').hidden = !exportReady;
  $('#show').hidden = !exportReady;
}

async function follow(): Promise<void> {
  render((await call(`/v1/privacy-requests/${stored('request')}`)) as Request);
}

async function submit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const type = String(form.get('type'));
  const body: Record<string, unknown> = { type, identifier: { [String(form.get('kind'))]: String(form.get('value')) }, locale };
  if (type === 'correction') body.correction = { [String(form.get('field'))]: String(form.get('correct')) };
  const scope = type === 'opt-out' ? String(form.get('scope') ?? 'all') : 'all';
  if (scope.startsWith('channel:')) body.scope = { channels: [scope.slice(8)] };
  if (scope.startsWith('topic:')) body.scope = { topics: [scope.slice(6)] };
  keep('token', null);
  const answer = (await call('/v1/privacy-requests', { method: 'POST', body: JSON.stringify(body) })) as { id: string; statusToken: string };
  keep('request', answer.id);
  keep('token', answer.statusToken);
  show('code');
}

async function verify(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const code = String(new FormData(event.target as HTMLFormElement).get('code')).trim();
  try {
    render((await call(`/v1/privacy-requests/${stored('request')}/verify`, { method: 'POST', body: JSON.stringify({ code }) })) as Request);
  } catch (error) {
    // Locked (or otherwise closed): show the request as it stands, with what to do next.
    if (error instanceof Refusal && error.requestStatus) await follow();
    throw error;
  }
}

async function exported(): Promise<Export> {
  return (await call(`/v1/privacy-requests/${stored('request')}/export`)) as Export;
}

async function download(): Promise<void> {
  const data = await exported();
  saveFile(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }), `my-data-${stored('request')}.json`);
}

const guarded =
  <E>(handler: (event: E) => Promise<void>) =>
  (event: E) =>
    void handler(event).catch(problem);

function start(): void {
  translate();
  $<HTMLSelectElement>('#locale').value = locale;
  $<HTMLSelectElement>('#locale').addEventListener('change', (event) => {
    locale = (event.target as HTMLSelectElement).value as Locale;
    keep('locale', locale);
    translate();
  });
  // The browser can offer the person's own number or address, and a phone shows the right keyboard.
  $<HTMLSelectElement>('#kind').addEventListener('change', (event) => {
    const email = (event.target as HTMLSelectElement).value === 'email';
    Object.assign($<HTMLInputElement>('#value'), { type: email ? 'email' : 'tel', autocomplete: email ? 'email' : 'tel' });
  });
  $<HTMLSelectElement>('#type').addEventListener('change', (event) => {
    const type = (event.target as HTMLSelectElement).value;
    $('#correction').hidden = type !== 'correction';
    $('#scope').hidden = type !== 'opt-out';
  });
  void call('/v1/privacy-request-options')
    .then((o) => offerChoices((options = o as Options)))
    .catch(problem);
  $('#show').addEventListener(
    'click',
    guarded(async () => showExport(await exported())),
  );
  $('#ask-form').addEventListener('submit', guarded(submit));
  $('#code-form').addEventListener('submit', guarded(verify));
  $('#download').addEventListener('click', guarded(download));
  $('#refresh').addEventListener('click', guarded(follow));
  $('#again').addEventListener('click', () => {
    keep('request', null);
    keep('token', null);
    shownExport = undefined;
    $('#export-view').hidden = true;
    show('ask');
  });
  if (stored('request') && stored('token')) void follow().catch(() => show('ask'));
  else show('ask');
}

start();
