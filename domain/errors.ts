// The one error hierarchy of the services: what a caller asked for is refused
// for a reason the caller can act on. Services throw these; api/error-handler.ts
// is the only place they become HTTP answers, and activities turn them into
// non-retryable ApplicationFailures whose type is the error's code. Anything
// that is not a DomainError is a bug or an outage, never a refusal.

/** What kind of refusal it is; the API maps each kind to one status. */
export type RefusalKind =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'insufficient_funds'
  | 'conflict'
  | 'idempotency_key_reused'
  | 'unavailable';

export interface FieldProblem {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly kind: RefusalKind;

  constructor(
    /** Stable, machine-readable: `slot_full`, `already_booked`, ... */
    readonly code: string,
    message: string,
    readonly details?: FieldProblem[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  readonly kind = 'invalid_input';
  constructor(message: string, details?: FieldProblem[]) {
    super('validation_error', message, details);
  }
}

export class UnauthorizedError extends DomainError {
  readonly kind = 'unauthenticated';
  constructor(message = 'authentication required') {
    super('unauthorized', message);
  }
}

export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
  constructor(message = 'not allowed') {
    super('forbidden', message);
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(what = 'resource') {
    super('not_found', `${what} not found`);
  }
}

export class InsufficientFundsError extends DomainError {
  readonly kind = 'insufficient_funds';
  constructor(message = 'insufficient funds') {
    super('insufficient_funds', message);
  }
}

/** The request is valid but conflicts with the current state; `code` names the conflict. */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly kind = 'idempotency_key_reused';
  constructor() {
    super('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
}

/** What the request needs did not answer in time; it may still take effect: look again before retrying. */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
  constructor(message: string) {
    super('unavailable', message);
  }
}

/**
 * Something the request needs is not available in this deployment or right
 * now (top-ups without Stripe configured, Stripe not answering); `code` names
 * it. Nothing was done: trying again later may succeed.
 */
export class DependencyUnavailableError extends DomainError {
  readonly kind = 'unavailable';
}
