/** An RFC 9457 problem Custos answered with (application/problem+json), as an Error a caller can catch and inspect. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  requestId?: string;
  /** Field problems of a 400: the JSON path of each field, and what is wrong with it. */
  errors?: Array<{ path: string; message: string }>;
  [extension: string]: unknown;
}

export class CustosProblem extends Error {
  override name = 'CustosProblem';
  /** The problem's code: the last part of its type (`urn:custos:problem:policy-violation` → `policy-violation`). */
  readonly code: string;
  /** Seconds to wait before retrying, from Retry-After (429, 503). */
  readonly retryAfter?: number;

  constructor(
    readonly status: number,
    readonly problem: ProblemBody,
    headers?: Headers,
  ) {
    super(`${status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.code = problem.type.split(':').at(-1) ?? problem.type;
    const after = Number(headers?.get('retry-after'));
    if (Number.isFinite(after) && after >= 0) this.retryAfter = after;
  }
}

/** Reads a failed response's body as a problem (or wraps whatever came, e.g. an OAuth error or a proxy's page). */
export async function problemOf(response: Response, body?: unknown): Promise<CustosProblem> {
  let parsed = body;
  if (parsed === undefined) {
    const text = await response.text().catch(() => '');
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  const value = (parsed ?? {}) as Record<string, unknown>;
  if (typeof value.type === 'string' && typeof value.title === 'string') return new CustosProblem(response.status, value as ProblemBody, response.headers);
  // RFC 6749 section 5.2 errors of the token endpoint.
  const title = typeof value.error === 'string' ? value.error : response.statusText || 'error';
  return new CustosProblem(
    response.status,
    { type: `urn:custos:problem:${title}`, title, status: response.status, detail: typeof value.error_description === 'string' ? value.error_description : undefined },
    response.headers,
  );
}
