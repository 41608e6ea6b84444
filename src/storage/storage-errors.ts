import pg from 'pg';
import { CustosError, OutcomeUnknown, SubjectGone, Unavailable } from '../shared/errors.ts';

/**
 * What a database error means, on either engine and whichever path raised it
 * (a Prisma call, a raw statement through Prisma, the driver natively): the
 * server is out of reach, a unique key or a foreign key refused a row, or it
 * is not a database error at all (a bug of ours).
 */

// node-postgres reports a lost or unreachable server with plain Errors: socket codes, SQLSTATE
// classes 08 (connection), 53 (resources), 57 (operator intervention, e.g. statement timeout),
// or these messages.
const PG_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const PG_CONNECTION_MESSAGES =
  /Connection terminated|custos: not sent|not queryable|timeout exceeded when trying to connect|Query read timeout|Connection terminated due to connection timeout|the database system is (starting|shutting) up/;

function isPostgresConnectionError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (PG_CONNECTION_CODES.has(code) || /^(08|53|57)[0-9A-Z]{3}$/.test(code))) return true;
  return PG_CONNECTION_MESSAGES.test(error.message);
}

/**
 * A statement refused before it was sent, because the database watchdog found
 * the server stuck (it stopped answering). Nothing of it reached the server.
 */
export class DatabaseStuck extends Error {
  override name = 'DatabaseStuck';
  constructor() {
    super('custos: not sent, the database server is not answering');
  }
}

/** Errors raised by the database layer, as opposed to bugs in our own code. */
export function isStorageError(error: unknown): boolean {
  if (isSqliteError(error) || error instanceof DatabaseStuck) return true;
  if (!(error instanceof Error)) return false;
  if (isPostgresConnectionError(error) || error instanceof pg.DatabaseError) return true;
  return error.name.startsWith('Prisma') || error.constructor.name.startsWith('Prisma') || error.name === 'DriverAdapterError' || 'clientVersion' in error;
}

/**
 * An error of a raw statement run natively on SQLite. Checked by shape, not
 * instanceof: better-sqlite3's native part builds its errors from the first
 * SqliteError class (and realm) that loaded it, which need not be ours.
 */
function isSqliteError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === 'SqliteError' && typeof code === 'string' && code.startsWith('SQLITE_');
}

/**
 * A duplicate key, whichever path raised it: a Prisma model call (P2002), a
 * raw statement through Prisma (P2010), or either engine natively; also when wrapped
 * as the cause of another error (db.transaction turns it into a 503's cause).
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, meta } = e as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } };
    if (code === 'P2002' || code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
    if (code === 'P2010' && meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation') return true;
  }
  return false;
}

/**
 * A row that references a subject that does not exist. Every foreign key
 * Custos declares points at `subject` (migration 0016), so this is always a
 * write that lost a race with an erasure; raised by either engine natively,
 * by a Prisma model call (P2003) or by a raw statement through Prisma (P2010).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const FOREIGN_KEY = new Set(['23503', 'SQLITE_CONSTRAINT_FOREIGNKEY']);
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, meta } = e as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } };
    // The SQLite adapter reports a trigger's RAISE(ABORT) (the append-only tables) as P2003 too: trust the engine's own code.
    const original = meta?.driverAdapterError?.cause?.originalCode;
    if (original !== undefined) return FOREIGN_KEY.has(String(original));
    if (typeof code === 'string' && FOREIGN_KEY.has(code)) return true;
  }
  return false;
}

// Failures that happen before a statement reaches the server: no connection could be had.
const NOT_SENT_MESSAGES = /custos: not sent|timeout exceeded when trying to connect|Connection terminated due to connection timeout|ECONNREFUSED|the database system is (starting|shutting) up/;
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P03']);

/**
 * Whether a failed write may still have been applied: it was sent (a COMMIT,
 * or a write that is its own transaction) and no answer came (a read
 * timeout, the connection closed under it). Not when it never left (no
 * connection, the watchdog refused it), nor when the server answered with
 * an error (a constraint, a guard, a cancelled statement: rolled back).
 */
function mayHaveBeenApplied(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseStuck || isSqliteError(e)) return false;
    const { code, message, meta } = e as { code?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } };
    const original = meta?.driverAdapterError?.cause?.originalCode ?? code;
    if (typeof original === 'string' && NOT_SENT_CODES.has(original)) return false;
    // A SQLSTATE the server sent back, other than one that ends the connection: the server answered.
    if (typeof original === 'string' && /^[0-9A-Z]{5}$/.test(original) && !/^(08|57P0)/.test(original)) return false;
    if (typeof message === 'string' && NOT_SENT_MESSAGES.test(message)) return false;
  }
  return true;
}

/**
 * Errors from the database become 503 Unavailable (nothing was committed;
 * retry), except a write for an erased subject, which is a 404 (retrying
 * it cannot succeed), and a write that was `sent` (its COMMIT, or a write
 * that commits by itself) when no answer came: OutcomeUnknown, also a 503,
 * which says it may have been applied.
 */
export function asUnavailable(error: unknown, sent = false): unknown {
  if (error instanceof CustosError || !isStorageError(error)) return error;
  if (isForeignKeyViolation(error)) return new SubjectGone({ cause: error });
  if (sent && mayHaveBeenApplied(error)) return new OutcomeUnknown({ cause: error });
  return new Unavailable(undefined, { cause: error });
}
