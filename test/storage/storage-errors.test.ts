import pg from 'pg';
import { OutcomeUnknown, SubjectGone, Unavailable } from '../../src/shared/errors.ts';
import { asUnavailable, DatabaseStuck } from '../../src/storage/storage-errors.ts';

const serverError = (code: string) => Object.assign(new pg.DatabaseError('refused', 0, 'error'), { code });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

describe('what a failed database call means for its caller', () => {
  it('a read, or a write that was never sent, changed nothing: 503 unavailable', () => {
    for (const error of [new Error('Query read timeout'), new DatabaseStuck(), socketError('ECONNRESET')]) expect(asUnavailable(error)).toBeInstanceOf(Unavailable);
    for (const error of [new DatabaseStuck(), socketError('ECONNREFUSED'), new Error('timeout exceeded when trying to connect'), serverError('57P03')]) {
      expect(asUnavailable(error, true)).toBeInstanceOf(Unavailable);
    }
  });

  it('a write sent with no answer may have been applied: 503 outcome-unknown', () => {
    for (const error of [new Error('Query read timeout'), new Error('Connection terminated'), new Error('Connection terminated unexpectedly'), socketError('ECONNRESET'), serverError('57P01')]) {
      const mapped = asUnavailable(error, true);
      expect(mapped).toBeInstanceOf(OutcomeUnknown);
      expect((mapped as OutcomeUnknown).headers['Retry-After']).toBe('1');
    }
  });

  it('a write the server answered with an error was rolled back: 503 unavailable, or 404 for an erased subject', () => {
    expect(asUnavailable(serverError('57014'), true)).toBeInstanceOf(Unavailable);
    expect(asUnavailable(serverError('40001'), true)).toBeInstanceOf(Unavailable);
    expect(asUnavailable(serverError('23503'), true)).toBeInstanceOf(SubjectGone);
    // Wrapped as Prisma's adapter wraps it.
    const wrapped = Object.assign(new Error('driver'), { meta: { driverAdapterError: { cause: { originalCode: '40P01' } } }, name: 'DriverAdapterError' });
    expect(asUnavailable(wrapped, true)).toBeInstanceOf(Unavailable);
  });
});
