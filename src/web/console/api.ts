import { $, saveFile } from '../shared/dom.ts';

/**
 * The console's link to the API. The session token lives in this tab's
 * session storage and goes out only as a Bearer header, so the browser never
 * sends it on its own and no request can be forged from another site (no
 * CSRF). A 401 on a signed-in call means the session ended: the page asks
 * for a new sign-in and keeps what the officer was doing.
 */
export type Role = 'auditor' | 'privacy-agent' | 'admin';

const TOKEN = 'custos.console.token';
export const token = (): string | null => sessionStorage.getItem(TOKEN);
export const keepToken = (value: string | null): void => (value === null ? sessionStorage.removeItem(TOKEN) : sessionStorage.setItem(TOKEN, value));

export function problem(error: unknown): void {
  $('#problem').textContent = error instanceof Error ? error.message : String(error);
}

let onSessionEnd: () => void = () => undefined;
export const whenSessionEnds = (handler: () => void): void => void (onSessionEnd = handler);

export class SessionEnded extends Error {}

export async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  $('#problem').textContent = '';
  const signedIn = token();
  const response = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(signedIn ? { authorization: `Bearer ${signedIn}` } : {}), ...(init.headers ?? {}) } });
  if (response.status === 401 && signedIn) {
    keepToken(null);
    onSessionEnd();
    throw new SessionEnded('Your session has ended. Sign in again to carry on where you were.');
  }
  const body = (await response.json().catch(() => ({}))) as T & { detail?: string };
  if (!response.ok) throw new Error(body.detail ?? `HTTP ${response.status}`);
  return body;
}

/** A file from the API (an export), handed to the browser as a download. */
export async function download(path: string, name: string): Promise<void> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  if (!response.ok) throw new Error(`export failed: HTTP ${response.status}`);
  saveFile(await response.blob(), name);
}

export const guarded =
  <E>(handler: (event: E) => Promise<void>) =>
  (event: E) =>
    void handler(event).catch(problem);
