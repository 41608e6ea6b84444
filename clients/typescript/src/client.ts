import createClient, { type Client } from 'openapi-fetch';
import { CustosProblem, problemOf } from './problem.ts';
import type { components, paths } from './schema.d.ts';
import { createTokenSource, type ClientCredentials } from './token.ts';

export interface CustosClientOptions extends ClientCredentials {
  /** Where Custos is, e.g. https://custos.internal (no trailing slash). */
  baseUrl: string;
  /** How many times a request that is safe to repeat is sent again after a 503 or a lost connection (default 3). */
  retries?: number;
  /** The longest wait between two tries, whatever Retry-After says (default 5 s). */
  maxBackoffMs?: number;
  /** A fetch of your own (a proxy agent, a test's recorder); the global fetch by default. */
  fetch?: typeof fetch;
}

export type Schemas = components['schemas'];
export type AuthorizeRequest = Schemas['ContactAuthorizeRequest'];
export type AuthorizeAnswer = Schemas['ContactAuthorizeAnswer'];
export type SuppressionLine = Schemas['SuppressionLine'];
/** The purposes of the policy the types were generated from (npm run generate against your gateway). */
export type Purpose = NonNullable<paths['/v1/subjects/{ref}']['get']['parameters']['query']>['purpose'];

const SAFE_METHODS = new Set(['GET', 'HEAD']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The fetch every call goes through: the app's token on each request
 * (asked again once when Custos answers 401, e.g. after a key rotation), and
 * retries of what is safe to repeat: reads, and writes that carry an
 * Idempotency-Key (Custos answers a repeated key with the first answer).
 * A 503 says whether the write was applied (`unavailable`: nothing changed)
 * or may have been (`outcome-unknown`); both are retried only under those
 * rules, with backoff and jitter, honouring Retry-After.
 */
function gatewayFetch(options: CustosClientOptions, tokens: ReturnType<typeof createTokenSource>): typeof fetch {
  const send = options.fetch ?? fetch;
  const retries = options.retries ?? 3;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  return async (input, init) => {
    const original = new Request(input, init);
    const repeatable = SAFE_METHODS.has(original.method) || original.headers.has('idempotency-key');
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      const request = original.clone();
      const token = await tokens.token();
      request.headers.set('authorization', `Bearer ${token}`);
      let response: Response;
      try {
        response = await send(request);
      } catch (error) {
        // The connection was lost: the request may or may not have reached Custos.
        if (!repeatable || attempt >= retries) throw error;
        await sleep(backoff(attempt, undefined, maxBackoffMs));
        continue;
      }
      if (response.status === 401 && !renewed) {
        renewed = true;
        tokens.invalidate(token);
        attempt--;
        continue;
      }
      if (response.status === 503 && repeatable && attempt < retries) {
        await sleep(backoff(attempt, Number(response.headers.get('retry-after')), maxBackoffMs));
        continue;
      }
      return response;
    }
  };
}

/** Exponential backoff with full jitter, at least Retry-After when the gateway gave one. */
function backoff(attempt: number, retryAfterSeconds: number | undefined, maxMs: number): number {
  const jittered = Math.random() * Math.min(maxMs, 100 * 2 ** attempt);
  const floor = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : 0;
  return Math.min(maxMs, Math.max(floor, jittered));
}

/** The data of a call, or its problem thrown as a CustosProblem. */
async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw await problemOf(response, error);
  return data as T;
}

/**
 * A Custos client for an app: `api` is the whole API, typed from Custos's
 * OpenAPI document (openapi-fetch: `api.GET('/v1/subjects/{ref}', …)`), and
 * the methods beside it are the calls apps make most, which throw a
 * CustosProblem instead of returning an error.
 */
export function createCustosClient(options: CustosClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const tokens = createTokenSource(baseUrl, options, options.fetch ?? fetch);
  const send = gatewayFetch(options, tokens);
  const api: Client<paths> = createClient<paths>({ baseUrl, fetch: send });

  return {
    api,
    writeSubject: (body: Schemas['SubjectWrite']) => ok(api.POST('/v1/subjects', { body })),
    readSubject: (ref: string, purpose: Purpose, recipient?: string) => ok(api.GET('/v1/subjects/{ref}', { params: { path: { ref }, query: { purpose, ...(recipient ? { recipient } : {}) } } })),
    grantConsent: (ref: string, purpose: Purpose, body: Schemas['ConsentGrant']) => ok(api.PUT('/v1/subjects/{ref}/consents/{purpose}', { params: { path: { ref, purpose } }, body })),
    /**
     * May this person be contacted now? An allow reserves a slot, so the call
     * carries an Idempotency-Key (a new one unless given) and a retry after a
     * lost answer gets the first answer back instead of a second slot.
     */
    authorize: (body: AuthorizeRequest, idempotencyKey: string = crypto.randomUUID()) =>
      ok(api.POST('/v1/contacts/authorize', { body, headers: { 'Idempotency-Key': idempotencyKey } })) as Promise<AuthorizeAnswer>,
    reveal: (ticket: string) => ok(api.POST('/v1/contacts/{ticket}/reveal', { params: { path: { ticket } } })),
    recordOutcome: (ticket: string, status: 'sent' | 'failed' | 'not-sent') => ok(api.POST('/v1/contacts/{ticket}/outcome', { params: { path: { ticket } }, body: { status } })),
    /**
     * A suppression list, line by line as it streams (NDJSON); throws if the
     * stream ends without its completion line (it was cut short).
     */
    async *suppressions(query: paths['/v1/suppressions']['get']['parameters']['query']): AsyncGenerator<SuppressionLine> {
      const { response } = await api.GET('/v1/suppressions', { params: { query }, parseAs: 'stream' });
      if (!response.ok || !response.body) throw await problemOf(response);
      const decoder = new TextDecoder();
      let buffered = '';
      let complete = false;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          const parsed = JSON.parse(line) as SuppressionLine;
          if ('complete' in parsed) complete = true;
          yield parsed;
        }
      }
      if (!complete) throw new CustosProblem(502, { type: 'urn:custos:problem:incomplete-list', title: 'The suppression list was cut short', status: 502 });
    },
  };
}

export type CustosClient = ReturnType<typeof createCustosClient>;
