/**
 * What a driver hands back for a column depends on the engine and the path
 * (Prisma, node-postgres, better-sqlite3): BIGINT as number, bigint or text,
 * timestamps as Date or ISO text, booleans as booleans or 0/1. Stores declare
 * their raw rows with these types and decode each column with the matching
 * function, once, in one place.
 */
export type SqlInteger = number | bigint | string;
export type SqlInstant = Date | string;
export type SqlFlag = boolean | number | bigint;

/** An integer column as a number; refuses to round one beyond 2^53 rather than corrupt it. */
export function integer(value: SqlInteger): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`the database returned ${String(value)} where a safe integer was expected`);
  return n;
}

export const nullableInteger = (value: SqlInteger | null | undefined): number | null => (value === null || value === undefined ? null : integer(value));

export const instant = (value: SqlInstant): Date => (value instanceof Date ? value : new Date(value));

export const nullableInstant = (value: SqlInstant | null | undefined): Date | null => (value === null || value === undefined ? null : instant(value));

export const flag = (value: SqlFlag): boolean => value === true || Number(value) === 1;
