import { Writable } from 'node:stream';
import winston from 'winston';

/**
 * JSON lines. Callers pass only what is safe to log: ids, route patterns,
 * status codes, counts and error names. Never values, raw URLs, query strings,
 * bodies or error messages from the database (those can echo personal data).
 */
export type Logger = winston.Logger;

export function createLogger(level: string, sink?: Writable): Logger {
  const transport = sink
    ? new winston.transports.Stream({ stream: sink })
    : new winston.transports.Console({ stderrLevels: [] });
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
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
