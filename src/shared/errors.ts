/**
 * The typed errors every module throws. Each has a stable `code` that is also
 * the last segment of its problem+json `type`, so clients can switch on it.
 */
export interface FieldProblem {
  path: string;
  message: string;
}

export abstract class CustosError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  abstract readonly title: string;
  /** Extra members for the problem+json body (RFC 9457 extension members). */
  readonly extensions: Record<string, unknown> = {};
  readonly headers: Record<string, string> = {};
}

export class ValidationError extends CustosError {
  readonly status = 400;
  readonly code = 'validation-failed';
  readonly title = 'The request is not valid';
  constructor(
    readonly errors: FieldProblem[],
    detail = errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; '),
  ) {
    super(detail);
    this.extensions.errors = errors;
  }
}

/** Well-formed but refused by policy (e.g. a field the purpose may not collect). */
export class PolicyViolation extends CustosError {
  readonly status = 422;
  readonly code = 'policy-violation';
  readonly title = 'The request breaks the data policy';
  constructor(detail: string, violations: Array<Record<string, string>>) {
    super(detail);
    this.extensions.violations = violations;
  }
}

/** An identifier that cannot be normalized (not a phone number, not an e-mail address). */
export class InvalidIdentifier extends CustosError {
  readonly status = 422;
  readonly code = 'invalid-identifier';
  readonly title = 'An identifier is not valid';
  constructor(readonly errors: FieldProblem[]) {
    super(errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    this.extensions.errors = errors;
  }
}

export class MalformedBody extends CustosError {
  readonly status = 400;
  readonly code = 'malformed-body';
  readonly title = 'The request body could not be parsed';
}

export class UnsupportedMediaType extends CustosError {
  readonly status = 415;
  readonly code = 'unsupported-media-type';
  readonly title = 'Unsupported content type';
}

export class PayloadTooLarge extends CustosError {
  readonly status = 413;
  readonly code = 'payload-too-large';
  readonly title = 'The request body is too large';
}

export class Unauthenticated extends CustosError {
  readonly status = 401;
  readonly code = 'unauthenticated';
  readonly title = 'Authentication required';
  /**
   * `reason` is RFC 6750 section 3.1's error code; `none` when the request
   * carried no credentials at all, whose challenge then names no error.
   */
  constructor(
    detail: string,
    readonly reason: 'invalid_token' | 'invalid_request' | 'none' = 'invalid_token',
  ) {
    super(detail);
    this.headers['WWW-Authenticate'] = reason === 'none' ? 'Bearer realm="custos"' : `Bearer realm="custos", error="${reason}"`;
  }
}

export class Forbidden extends CustosError {
  readonly status = 403;
  readonly code = 'forbidden';
  readonly title = 'Not allowed';
}

export class ConsentRequired extends CustosError {
  readonly status = 403;
  readonly code = 'consent-required';
  readonly title = 'No active consent covers this use';
}

export class NotFound extends CustosError {
  readonly status = 404;
  readonly code = 'not-found';
  readonly title = 'Not found';
}

/**
 * A write for a subject that was erased while the write ran: its rows would
 * reference a subject that no longer exists (the foreign keys of migration
 * 0016 refuse them), so nothing was written and the caller hears what it
 * would have heard a moment later, that no subject has this ref.
 */
export class SubjectGone extends NotFound {
  constructor(options?: { cause?: unknown }) {
    super('no subject with this ref', options);
  }
}

export class MethodNotAllowed extends CustosError {
  readonly status = 405;
  readonly code = 'method-not-allowed';
  readonly title = 'Method not allowed';
}

export class Conflict extends CustosError {
  readonly status = 409;
  readonly code = 'conflict';
  readonly title = 'Conflict';
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(detail);
    Object.assign(this.extensions, extensions);
  }
}

/** An Idempotency-Key sent again with a different request (draft-ietf-httpapi-idempotency-key-header: 422). */
export class IdempotencyKeyReused extends CustosError {
  readonly status = 422;
  readonly code = 'idempotency-key-reused';
  readonly title = 'This Idempotency-Key was used for another request';
}

export class TooManyRequests extends CustosError {
  readonly status = 429;
  readonly code = 'too-many-requests';
  readonly title = 'Too many requests';
  constructor(detail: string, retryAfterSeconds: number) {
    super(detail);
    this.headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

/** The database (or the audit trail) cannot take the write; nothing was committed. */
export class Unavailable extends CustosError {
  readonly status = 503;
  readonly code = 'unavailable';
  readonly title = 'Service unavailable';
  constructor(detail = 'Custos cannot record this access right now; nothing was changed. Retry later.', options?: { cause?: unknown }) {
    super(detail, options);
    this.headers['Retry-After'] = '1';
  }
}

/**
 * A write was sent and the database stopped answering before it said whether
 * it committed: it may have been applied. Retrying with the same
 * Idempotency-Key (or reading the record back) tells which.
 */
export class OutcomeUnknown extends CustosError {
  readonly status = 503;
  readonly code = 'outcome-unknown';
  readonly title = 'Outcome unknown';
  constructor(options?: { cause?: unknown }) {
    super('The database stopped answering after this write was sent, so it may or may not have been applied. Retry with the same Idempotency-Key to learn which, or read the record back.', options);
    this.headers['Retry-After'] = '1';
  }
}

/** RFC 6749 section 5.2 error, answered by the token endpoint as JSON. */
export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope',
    readonly description: string,
  ) {
    super(description);
  }
  get status(): number {
    return this.error === 'invalid_client' ? 401 : 400;
  }
}
