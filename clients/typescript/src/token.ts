import { problemOf } from './problem.ts';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** Purposes to ask for (space-separated scopes); all the app was granted when unset. */
  scope?: string[];
}

// A token is renewed this long before it expires, so a request never leaves with one that lapses on the way.
const EARLY_MS = 30_000;

/**
 * OAuth 2.0 client credentials (RFC 6749 section 4.4) with the token kept
 * until shortly before it expires and renewed once however many requests
 * ask at the same moment. `invalidate` drops it (a 401: revoked, or the app
 * removed), so the next request asks anew.
 */
export function createTokenSource(baseUrl: string, credentials: ClientCredentials, fetchImpl: typeof fetch, now: () => number = Date.now) {
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function request(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...(credentials.scope ? { scope: credentials.scope.join(' ') } : {}) });
    const response = await fetchImpl(`${baseUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${btoa(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`)}`,
      },
      body,
    });
    if (!response.ok) throw await problemOf(response);
    const granted = (await response.json()) as { access_token: string; expires_in: number };
    current = { token: granted.access_token, expiresAt: now() + granted.expires_in * 1000 };
    return granted.access_token;
  }

  return {
    async token(): Promise<string> {
      if (current && current.expiresAt - EARLY_MS > now()) return current.token;
      pending ??= request().finally(() => (pending = undefined));
      return pending;
    },
    invalidate(token: string): void {
      if (current?.token === token) current = undefined;
    },
  };
}
