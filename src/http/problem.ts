import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { isStorageError } from '../storage/database.ts';
import { inspectJson } from './json-inspection.ts';
import { describeErrorSafely, type Logger } from '../logger.ts';
import { CustosError, MalformedBody, NotFound, OAuthError, PayloadTooLarge, Unavailable, UnsupportedMediaType, ValidationError } from '../shared/errors.ts';

export const PROBLEM_TYPE_PREFIX = 'urn:custos:problem:';

/** body-parser signals its failures with `type`; map them to our typed errors. */
function fromBodyParser(error: unknown): CustosError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new MalformedBody('the body is not valid JSON');
    case 'entity.too.large':
      return new PayloadTooLarge('the body is larger than this server accepts');
    case 'parameters.too.many':
      return new PayloadTooLarge('the form has more fields than this route accepts');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaType('unsupported body encoding or charset; send UTF-8');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new MalformedBody('the body could not be read');
    default:
      // A body whose Content-Encoding does not match its bytes fails while inflating: body-parser
      // passes zlib's error on (its code Z_DATA_ERROR, ERR__ERROR_FORMAT_PADDING_1, …) with status 400.
      if ((error as { status?: unknown } | null)?.status === 400 && typeof (error as { code?: unknown }).code === 'string') {
        return new MalformedBody('the body does not decode with its Content-Encoding');
      }
      // Any other client error body-parser reports (it marks them expose: true) is still the client's.
      if ((error as { expose?: unknown } | null)?.expose === true && typeof type === 'string') return new MalformedBody('the body could not be read');
      return undefined;
  }
}

/**
 * Errors that are not ours but have a meaning: a malformed percent-escape in
 * the path (Express's URIError), and any error of the database layer that a
 * module let through (an outage is a 503 with Retry-After, not a 500).
 */
function fromPlatform(error: unknown): CustosError | undefined {
  if (error instanceof URIError) return new ValidationError([{ path: '(url)', message: 'holds a malformed percent-escape' }]);
  if (isStorageError(error) || isStorageError((error as { cause?: unknown } | null)?.cause))
    return new Unavailable('the database is not answering; nothing was changed. Retry later.', { cause: error });
  return undefined;
}

/** express.json's verify hook: refuses a body before it is parsed (see inspectJson). */
export function verifyJsonBody(_req: Request, _res: unknown, buf: Buffer): void {
  const problem = inspectJson(buf);
  if (problem) throw new ValidationError([problem]);
}

/** A percent-encoded text (a URL, a form body) that does not decode to NUL-free UTF-8, or undefined. */
function percentEncodingProblem(text: string, path: string): ValidationError | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return new ValidationError([{ path, message: 'holds a malformed percent-escape or bytes that are not UTF-8' }]);
  }
  return decoded.includes('\u0000') ? new ValidationError([{ path, message: 'holds a NUL character' }]) : undefined;
}

/**
 * The request target must be valid percent-encoded UTF-8 with no NUL, in the
 * path and in the query string alike: refused here, once, rather than
 * decoded into replacement characters that make different values equal.
 */
export const wellFormedUrl: RequestHandler = (req, _res, next) => next(percentEncodingProblem(req.url, '(url)'));

/** express.urlencoded's verify hook: the same rule for form bodies (the token endpoint). */
export function verifyFormBody(_req: Request, _res: unknown, buf: Buffer): void {
  const problem = percentEncodingProblem(buf.toString('latin1'), '(body)');
  if (problem) throw problem;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFound(`no route for ${req.method} ${req.path}`));
};

/** The one place errors become responses: RFC 9457 problem+json, never a stack trace. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    const requestId = req.custos?.requestId;
    if (error instanceof OAuthError) {
      res.status(error.status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      // Every 401 carries a challenge (RFC 9110 section 15.5.2), also when the secret came in the body: the endpoint takes client_secret_basic.
      if (error.error === 'invalid_client') res.set('WWW-Authenticate', 'Basic realm="custos"');
      res.json({ error: error.error, error_description: error.description });
      return;
    }
    const known = error instanceof CustosError ? error : (fromBodyParser(error) ?? fromPlatform(error));
    if (!known) {
      logger.error('unhandled error', { requestId, ...describeErrorSafely(error) });
    } else if (known.status >= 500) {
      logger.warn('request failed', { requestId, code: known.code, ...describeErrorSafely(known.cause ?? known) });
    }
    const status = known?.status ?? 500;
    const body = {
      type: `${PROBLEM_TYPE_PREFIX}${known?.code ?? 'internal-error'}`,
      title: known?.title ?? 'Internal error',
      status,
      detail: known ? known.message : 'Custos hit an unexpected error; nothing was changed. The request id identifies it in the logs.',
      instance: req.path,
      requestId,
      ...(known?.extensions ?? {}),
    };
    res
      .status(status)
      .set(known?.headers ?? {})
      .type('application/problem+json')
      .send(JSON.stringify(body));
  };
}
