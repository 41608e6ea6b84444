import { Writable } from 'node:stream';
import winston from 'winston';

/**
 * JSON lines. Callers pass only what is safe to log: ids, route patterns,
 * status codes, counts and error names. Never values, raw URLs, query strings,
 * bodies or error messages from the database (those can echo personal data).
 */
export type Logger = winston.Logger;

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

export function createLogger(level: string, sink?: Writable): Logger {
  const transport = sink ? new winston.transports.Stream({ stream: sink }) : new winston.transports.Console({ stderrLevels: [] });
  return winston.createLogger({
    level,
    format: jsonLine(),
    defaultMeta: { service: 'custos' },
    transports: [transport],
  });
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
