import type { RequestHandler } from 'express';
import type { Worker } from 'node:worker_threads';
import type { Closeables } from '../shared/closeables.ts';
import { MalformedBody, ValidationError, type FieldProblem } from '../shared/errors.ts';
import { typeScriptWorker } from '../shared/typescript-worker.ts';
import { inspectJson } from './json-inspection.ts';

/** Bodies up to this size are inspected and parsed in place; larger ones on a worker thread. */
const IN_PLACE_BYTES = 256 * 1024;

type Outcome = { problem: FieldProblem } | { value: unknown } | { malformed: true };

/**
 * JSON for routes that take bodies of megabytes (a campaign scrub): the raw
 * body (express.raw: limit and Content-Encoding handled there) is inspected
 * and parsed on a worker thread when large, so parsing 8 MB never holds the
 * event loop, and other requests (health checks among them) are answered
 * meanwhile. Same checks and same errors as the small-body parser. The
 * worker is started on the first large body and terminated when the
 * runtime closes (`closeables`); between bodies it does not keep the
 * process alive.
 */
export function largeJsonBodies(closeables: Closeables): RequestHandler {
  let worker: Worker | undefined;
  let next = 0;
  const waiting = new Map<number, (outcome: Outcome) => void>();
  const pool = () => {
    if (worker) return worker;
    const started = typeScriptWorker(require.resolve('./json-parse-worker.ts'));
    started.on('message', (message: Outcome & { id: number }) => {
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
      // Idle again: the worker must not keep the process alive (a listener on 'message' refs it).
      if (waiting.size === 0) started.unref();
    });
    started.on('error', () => {
      for (const settle of waiting.values()) settle({ malformed: true });
      waiting.clear();
      worker = undefined;
    });
    closeables.add('large JSON parser', started, (w) => w.terminate());
    return (worker = started);
  };
  const parseAside = (bytes: Buffer): Promise<Outcome> =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      const copy = new Uint8Array(bytes);
      const parser = pool();
      // Busy: a body is being parsed, so the process stays up for its answer.
      parser.ref();
      parser.postMessage({ id, bytes: copy }, [copy.buffer]);
    });
  const parseHere = (bytes: Buffer): Outcome => {
    const problem = inspectJson(bytes);
    if (problem) return { problem };
    try {
      return { value: JSON.parse(bytes.toString('utf8')) as unknown };
    } catch {
      return { malformed: true };
    }
  };
  return async (req, _res, nextHandler) => {
    if (!Buffer.isBuffer(req.body)) return nextHandler();
    const bytes = req.body;
    const outcome = bytes.length > IN_PLACE_BYTES ? await parseAside(bytes) : parseHere(bytes);
    if ('problem' in outcome) return nextHandler(new ValidationError([outcome.problem]));
    // strict, as express.json: only an object or an array is a request body.
    if ('malformed' in outcome || outcome.value === null || typeof outcome.value !== 'object') return nextHandler(new MalformedBody('the body is not valid JSON'));
    req.body = outcome.value;
    nextHandler();
  };
}
