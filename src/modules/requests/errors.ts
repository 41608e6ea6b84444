import { Conflict, CustosError } from '../../shared/errors.ts';
import type { RequestStatus } from './schema.ts';

/** A wrong code: how many tries are left before the request locks. */
export class WrongCode extends CustosError {
  readonly status = 422;
  readonly code = 'wrong-code';
  readonly title = 'The code is not right';
  constructor(attemptsLeft: number) {
    super(`the code is not right; ${attemptsLeft} ${attemptsLeft === 1 ? 'try' : 'tries'} left before the request locks`);
    this.extensions.attemptsLeft = attemptsLeft;
  }
}

/** The request is not in a state that allows this step (already verified, locked, expired, decided). */
export class RequestStateConflict extends Conflict {
  constructor(detail: string, status: RequestStatus) {
    super(detail, { requestStatus: status });
  }
}
