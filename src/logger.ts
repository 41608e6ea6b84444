import { Writable } from 'node:stream';
import winston from 'winston';

/**
 * JSON lines. Callers pass only what is safe to log: ids, route patterns,
 * status codes, counts and error names. Never values, raw URLs, query strings,
 * bodies or error messages from the database (those can echo personal data).
 */
export type Logger = winston.Logger & { readonly health: LogHealth };

/** How logging is going: lines that could not be written (a full disk, a closed pipe) or were dropped (a stuck one). */
export interface LogHealth {
  failures: number;
  dropped: number;
}

const MESSAGE = Symbol.for('message'); // where winston's transports read the formatted line (triple-beam)
const safeJson = winston.format.json();

/**
 * One JSON line with a timestamp. JSON.stringify costs half of logform's
 * json() (which sorts keys and survives cycles and BigInts); a line it cannot
 * serialize falls back to json(). A line is written per request.
 */
const jsonLine = winston.format((info) => {
  info.timestamp = new Date().toISOString();
  try {
    (info as Record<symbol, unknown>)[MESSAGE] = JSON.stringify(info);
    return info;
  } catch {
    return safeJson.transform(info, safeJson.options);
  }
});

/** The destinations that have their one error listener, and the loggers it counts for. */
const watched = new WeakMap<NodeJS.WritableStream, Set<LogHealth>>();

// A destination that takes no more (a stuck pipe) holds at most this much; later lines are dropped and counted.
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/**
 * Lines go to `destination` (stdout by default) through a stream that never
 * fails: a write the destination refuses (ENOSPC on a full disk, EPIPE) is
 * counted in `health`, never thrown, so a full log disk cannot stop the
 * gateway. The audit trail, which is the record that matters, keeps its own
 * fail-closed rule in the database; logs are best effort.
 */
function failSafe(destination: NodeJS.WritableStream & { writableLength?: number }, health: LogHealth): Writable {
  // Without a listener, an 'error' on stdout is an uncaught exception that ends the process. One listener per
  // destination (stdout is shared by every logger of the process) counts for every logger writing to it.
  let healths = watched.get(destination);
  if (!healths) {
    const counted = (healths = new Set());
    watched.set(destination, counted);
    destination.on('error', () => counted.forEach((h) => (h.failures += 1)));
  }
  healths.add(health);
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if ((destination.writableLength ?? 0) > MAX_PENDING_BYTES) health.dropped += 1;
      else {
        try {
          destination.write(chunk, (error) => {
            if (error) health.failures += 1;
          });
        } catch {
          health.failures += 1;
        }
      }
      done();
    },
  });
}

export function createLogger(level: string, sink?: Writable): Logger {
  const health: LogHealth = { failures: 0, dropped: 0 };
  const logger = winston.createLogger({
    level,
    format: jsonLine(),
    defaultMeta: { service: 'custos' },
    transports: [new winston.transports.Stream({ stream: failSafe(sink ?? process.stdout, health) })],
  });
  // A transport's own error (it should have none left to give) is counted too, never thrown.
  logger.on('error', () => {
    health.failures += 1;
  });
  return Object.assign(logger, { health });
}

/** The parts of an unexpected error that are safe to log: its type and where it was thrown. */
export function describeErrorSafely(error: unknown): { errorName: string; errorCode?: string; frames?: string[] } {
  if (!(error instanceof Error)) return { errorName: typeof error };
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .slice(0, 8)
    .map((line) => line.trim());
  return { errorName: error.constructor.name, ...(typeof code === 'string' ? { errorCode: code } : {}), frames };
}
