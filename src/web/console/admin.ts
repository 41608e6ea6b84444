import { $, button, row, saveFile } from '../shared/dom.ts';
import { call } from './api.ts';

/**
 * Apps and officers (role admin), through the same admin routes the API
 * documents. A new app's secret and a generated password are shown once,
 * in the answer to the call that made them; Custos keeps only their hashes.
 */
type App = { clientId: string; name: string; purposes: string[]; reveal: string[]; createdAt: string; removedAt: string | null };
type Officer = { id: string; username: string; role: string; createdAt: string; removedAt: string | null };
type Policy = { policy: { channels: string[]; purposes: Record<string, unknown> } };
type ImportRun = {
  id: string;
  app: string;
  status: string;
  dryRun: boolean;
  linesCommitted: number;
  counts: { created: number; updated: number; unchanged: number; refused: number };
  errors: Array<{ line: number; field?: string; reason: string }>;
  errorCount: number;
  startedAt: string;
};

/** How often the list is read again while an import runs. */
const IMPORT_POLL_MS = 3000;
let importPoll: ReturnType<typeof setTimeout> | undefined;

let myId: string | undefined;

function choices(container: string, name: string, values: string[]): void {
  $(container).replaceChildren(
    ...values.map((value) => {
      const label = Object.assign(document.createElement('label'), { className: 'inline' });
      label.append(Object.assign(document.createElement('input'), { type: 'checkbox', name, value }), ` ${value}`);
      return label;
    }),
  );
}

function shownOnce(text: string): void {
  const box = $('#admin-once');
  box.hidden = false;
  $('#admin-once-text').textContent = text;
}

export async function loadAdmin(me: { id: string }): Promise<void> {
  myId = me.id;
  await refresh();
}

/** The apps and officers as they now are; the policy's purposes and channels are read once, for the form. */
async function refresh(): Promise<void> {
  if (!$('#app-purposes').childElementCount) {
    const { policy } = await call<Policy>('/v1/policy');
    choices('#app-purposes', 'purposes', Object.keys(policy.purposes));
    choices('#app-reveal', 'reveal', policy.channels);
  }
  const [{ apps }, { officers }, { imports }] = await Promise.all([
    call<{ apps: App[] }>('/v1/admin/apps'),
    call<{ officers: Officer[] }>('/v1/admin/officers'),
    call<{ imports: ImportRun[] }>('/v1/imports'),
  ]);
  showImports(imports, new Map(apps.map((a) => [a.clientId, a.name])));
  $('#apps').replaceChildren(
    ...apps.map((a) => {
      const tr = row([
        a.name,
        a.clientId,
        a.purposes.join(', '),
        a.reveal.join(', '),
        a.removedAt ? `removed ${new Date(a.removedAt).toLocaleDateString()}` : button('Remove', () => void removeApp(a), `Remove app ${a.name}`),
      ]);
      tr.dataset.app = a.clientId;
      return tr;
    }),
  );
  $('#officers').replaceChildren(
    ...officers.map((o) => {
      const removable = !o.removedAt && o.id !== myId;
      const tr = row([
        o.username,
        o.role,
        o.id,
        o.removedAt ? `removed ${new Date(o.removedAt).toLocaleDateString()}` : removable ? button('Remove', () => void removeOfficer(o), `Remove officer ${o.username}`) : 'you',
      ]);
      tr.dataset.officer = o.username;
      return tr;
    }),
  );
}

/** The refusals of an import as a CSV file (line, field, reason: the rows' values were never kept). */
function refusalsFile(run: ImportRun): Blob {
  const quote = (text: string) => `"${text.replace(/"/g, '""')}"`;
  const lines = ['line,field,reason', ...run.errors.map((e) => [String(e.line), quote(e.field ?? ''), quote(e.reason)].join(','))];
  return new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
}

function showImports(imports: ImportRun[], appNames: Map<string, string>): void {
  $('#imports').replaceChildren(
    ...imports.map((run) => {
      const c = run.counts;
      const tr = row([
        new Date(run.startedAt).toLocaleString(),
        appNames.get(run.app) ?? run.app,
        run.status,
        run.linesCommitted.toLocaleString(),
        c.created.toLocaleString(),
        c.updated.toLocaleString(),
        c.unchanged.toLocaleString(),
        c.refused.toLocaleString(),
        run.errors.length > 0
          ? button(
              `Refusals (${run.errorCount > run.errors.length ? `first ${run.errors.length} of ${run.errorCount}` : run.errorCount})`,
              () => saveFile(refusalsFile(run), `${run.id}-refusals.csv`),
              `Download the refusals of import ${run.id}`,
            )
          : '',
      ]);
      tr.dataset.import = run.id;
      return tr;
    }),
  );
  // A running import's progress, read again while the Admin view is open.
  if (importPoll) clearTimeout(importPoll);
  if (imports.some((r) => r.status === 'running'))
    importPoll = setTimeout(() => {
      if (!$('#admin').hidden) void refresh();
    }, IMPORT_POLL_MS);
}

async function removeApp(app: App): Promise<void> {
  if (!confirm(`Remove ${app.name}? Its tokens stop working at once.`)) return;
  await call(`/v1/admin/apps/${app.clientId}`, { method: 'DELETE' });
  await refresh();
}

async function removeOfficer(officer: Officer): Promise<void> {
  if (!confirm(`Remove ${officer.username}? Their sessions stop working at once.`)) return;
  await call(`/v1/admin/officers/${officer.id}`, { method: 'DELETE' });
  await refresh();
}

export async function createApp(form: HTMLFormElement): Promise<void> {
  const fields = new FormData(form);
  const app = await call<App & { clientSecret: string }>('/v1/admin/apps', {
    method: 'POST',
    body: JSON.stringify({ name: fields.get('name'), purposes: fields.getAll('purposes'), reveal: fields.getAll('reveal') }),
  });
  form.reset();
  shownOnce(`App "${app.name}": client id ${app.clientId}, client secret ${app.clientSecret}. Copy the secret now; it is not shown again.`);
  await refresh();
}

export async function createOfficer(form: HTMLFormElement): Promise<void> {
  const fields = new FormData(form);
  const officer = await call<Officer & { password: string }>('/v1/admin/officers', { method: 'POST', body: JSON.stringify({ username: fields.get('username'), role: fields.get('role') }) });
  form.reset();
  shownOnce(`Officer ${officer.username} (${officer.role}): password ${officer.password}. Hand it over safely now; it is not shown again.`);
  await refresh();
}
