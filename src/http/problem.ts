import type { ErrorRequestHandler, RequestHandler } from 'express';
import { describeErrorSafely, type Logger } from '../logger.ts';
import { CustosError, MalformedBody, NotFound, OAuthError, PayloadTooLarge, UnsupportedMediaType } from '../shared/errors.ts';

export const PROBLEM_TYPE_PREFIX = 'urn:custos:problem:';

/** body-parser signals its failures with `type`; map them to our typed errors. */
function fromBodyParser(error: unknown): CustosError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new MalformedBody('the body is not valid JSON');
    case 'entity.too.large':
      return new PayloadTooLarge('the body is larger than this server accepts');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaType('unsupported body encoding or charset; send UTF-8');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new MalformedBody('the body could not be read');
    default:
      return undefined;
  }
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
      if (error.error === 'invalid_client' && req.get('authorization')?.startsWith('Basic ')) res.set('WWW-Authenticate', 'Basic realm="custos"');
      res.json({ error: error.error, error_description: error.description });
      return;
    }
    const known = error instanceof CustosError ? error : fromBodyParser(error);
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
    res.status(status).set(known?.headers ?? {}).type('application/problem+json').send(JSON.stringify(body));
  };
}
