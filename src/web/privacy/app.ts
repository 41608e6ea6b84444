import { messages, type Locale, type MessageKey } from './messages.ts';

/** The customer privacy center: submit a request, enter the code, follow it, download the export. No framework: one small module. */
type Request = { id: string; type: string; status: string; dueAt: string; decisionReason: string | null; steps: Array<{ step: string; at: string; detail: string | null }> };

const stored = (key: string) => sessionStorage.getItem(`custos.${key}`);
const keep = (key: string, value: string | null) => (value === null ? sessionStorage.removeItem(`custos.${key}`) : sessionStorage.setItem(`custos.${key}`, value));
let locale: Locale = (stored('locale') as Locale | null) ?? (navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en');
const t = (key: MessageKey) => messages[locale][key];
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

function translate(): void {
  document.documentElement.lang = locale;
  document.querySelectorAll<HTMLElement>('[data-t]').forEach((el) => (el.textContent = t(el.dataset.t as MessageKey)));
  document.title = t('title');
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
  ) {
    super(detail);
  }
}

function problem(error: unknown): void {
  const key = error instanceof Refusal ? (`problem.${error.code}` as MessageKey) : undefined;
  const known = key && key in messages[locale] ? `${t(key)}${error instanceof Refusal && error.attemptsLeft !== undefined ? ` ${error.attemptsLeft}` : ''}` : error instanceof Error ? error.message : String(error);
  $('#problem').textContent = `${t('error')}: ${known}`;
}

async function call(path: string, init: RequestInit = {}): Promise<unknown> {
  $('#problem').textContent = '';
  const token = stored('token');
  const response = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) } });
  const body = (await response.json().catch(() => ({}))) as { type?: string; detail?: string; attemptsLeft?: number };
  if (!response.ok) throw new Refusal(body.type?.split(':').pop() ?? 'error', body.detail ?? `HTTP ${response.status}`, body.attemptsLeft);
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
  list.replaceChildren(...request.steps.map((s) => Object.assign(document.createElement('li'), { textContent: `${new Date(s.at).toLocaleString(locale)} — ${s.step}${s.detail ? ` (${s.detail})` : ''}` })));
  $('#download').hidden = !(request.type === 'access' && request.status === 'completed');
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
  keep('token', null);
  const answer = (await call('/v1/privacy-requests', { method: 'POST', body: JSON.stringify(body) })) as { id: string; statusToken: string };
  keep('request', answer.id);
  keep('token', answer.statusToken);
  show('code');
}

async function verify(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const code = String(new FormData(event.target as HTMLFormElement).get('code')).trim();
  render((await call(`/v1/privacy-requests/${stored('request')}/verify`, { method: 'POST', body: JSON.stringify({ code }) })) as Request);
}

async function download(): Promise<void> {
  const exported = await call(`/v1/privacy-requests/${stored('request')}/export`);
  const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([JSON.stringify(exported, null, 2)], { type: 'application/json' })), download: `my-data-${stored('request')}.json` });
  link.click();
  URL.revokeObjectURL(link.href);
}

const guarded = <E>(handler: (event: E) => Promise<void>) => (event: E) => void handler(event).catch(problem);

function start(): void {
  translate();
  $<HTMLSelectElement>('#locale').value = locale;
  $<HTMLSelectElement>('#locale').addEventListener('change', (event) => {
    locale = (event.target as HTMLSelectElement).value as Locale;
    keep('locale', locale);
    translate();
  });
  $<HTMLSelectElement>('#type').addEventListener('change', (event) => ($('#correction').hidden = (event.target as HTMLSelectElement).value !== 'correction'));
  $('#ask-form').addEventListener('submit', guarded(submit));
  $('#code-form').addEventListener('submit', guarded(verify));
  $('#download').addEventListener('click', guarded(download));
  $('#refresh').addEventListener('click', guarded(follow));
  $('#again').addEventListener('click', () => {
    keep('request', null);
    keep('token', null);
    show('ask');
  });
  if (stored('request') && stored('token')) void follow().catch(() => show('ask'));
  else show('ask');
}

start();
