import { $ } from '../shared/dom.ts';
import { call, keepToken, type Role } from './api.ts';

/**
 * Signing in: with a password, or at the organisation's OpenID Connect
 * provider (authorization code flow with PKCE, RFC 7636). The browser keeps
 * the verifier and the state for the round trip; Custos redeems the code.
 * What the officer had typed is kept across the provider's redirect.
 */
type ProviderSignIn = { issuer: string; authorizationEndpoint: string; clientId: string; scope: string; resource: string | null };
type Session = { access_token: string; role: Role };

const PENDING = 'custos.console.oidc';
const DRAFTS = 'custos.console.drafts';
const bytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const base64url = (data: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(data)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const redirectUri = () => `${location.origin}/console`;

export async function signInWithPassword(form: HTMLFormElement): Promise<void> {
  const fields = new FormData(form);
  const session = await call<Session>('/v1/officers/session', { method: 'POST', body: JSON.stringify({ username: fields.get('username'), password: fields.get('password') }) });
  form.reset();
  keepToken(session.access_token);
}

/** Shows the provider button when Custos has a console client for one (a plain fetch: the sign-in view's message stays). */
export async function offerProvider(): Promise<void> {
  const { provider } = (await (await fetch('/v1/officers/oidc')).json()) as { provider: ProviderSignIn | null };
  $('#oidc').hidden = !provider;
  if (!provider) return;
  $('#oidc-issuer').textContent = new URL(provider.issuer).host;
}

export async function signInAtProvider(view: string | undefined): Promise<void> {
  const { provider } = await call<{ provider: ProviderSignIn | null }>('/v1/officers/oidc');
  if (!provider) throw new Error('Sign-in with your organisation is not configured.');
  const verifier = base64url(bytes(32));
  const state = base64url(bytes(16));
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, issuer: provider.issuer, view }));
  keepDrafts();
  const url = new URL(provider.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: redirectUri(),
    scope: provider.scope,
    state,
    code_challenge: base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
    code_challenge_method: 'S256',
    ...(provider.resource ? { resource: provider.resource } : {}),
  }).toString();
  location.assign(url.toString());
}

/**
 * The provider's redirect back to /console: the state must be the one this tab
 * sent and, when the provider names itself (RFC 9207), the issuer it was sent
 * to. Returns the view the officer was on, or undefined when this is no return.
 */
export async function completeProviderSignIn(): Promise<{ view: string | undefined } | undefined> {
  const answer = new URLSearchParams(location.search);
  if (!answer.has('state')) return undefined;
  history.replaceState(null, '', '/console');
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { state: string; verifier: string; issuer: string; view?: string } | null;
  sessionStorage.removeItem(PENDING);
  restoreDrafts();
  if (!pending || pending.state !== answer.get('state')) throw new Error('The sign-in answer does not belong to this browser tab; sign in again.');
  if (answer.has('iss') && answer.get('iss') !== pending.issuer) throw new Error('The sign-in answer came from another provider; sign in again.');
  if (answer.has('error')) throw new Error(`The provider did not sign you in: ${answer.get('error_description') ?? answer.get('error')}`);
  const session = await call<Session>('/v1/officers/oidc/session', { method: 'POST', body: JSON.stringify({ code: answer.get('code'), codeVerifier: pending.verifier, redirectUri: redirectUri() }) });
  keepToken(session.access_token);
  return { view: pending.view };
}

/** The filter and decision forms' values, kept over the provider's redirect (nothing secret: no password field is kept). */
function keepDrafts(): void {
  const drafts: Record<string, Array<[string, string]>> = {};
  document.querySelectorAll<HTMLFormElement>('main form[id]:not(#sign-in-form)').forEach((form) => {
    drafts[form.id] = [...new FormData(form)].filter(([, v]) => typeof v === 'string' && v !== '') as Array<[string, string]>;
  });
  sessionStorage.setItem(DRAFTS, JSON.stringify(drafts));
}

function restoreDrafts(): void {
  const drafts = JSON.parse(sessionStorage.getItem(DRAFTS) ?? '{}') as Record<string, Array<[string, string]>>;
  sessionStorage.removeItem(DRAFTS);
  for (const [id, values] of Object.entries(drafts)) {
    const form = document.getElementById(id) as HTMLFormElement | null;
    for (const [name, value] of values) {
      const field = form?.elements.namedItem(name);
      if (field instanceof HTMLInputElement && field.type === 'checkbox') field.checked = true;
      else if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) field.value = value;
    }
  }
}
