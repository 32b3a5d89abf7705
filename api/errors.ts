// One error hierarchy for everything the API refuses. Handlers and services
// throw these; error-handler.ts maps them, and only them, to the spec's shape
// `{"error": {"code", "message", "details"?}}`. Anything else is a bug: 500.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  path: string;
  message: string;
}

export class ValidationError extends ApiError {
  constructor(message: string, details?: FieldProblem[]) {
    super(400, 'validation_error', message, details);
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = 'authentication required') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends ApiError {
  constructor(message = 'not allowed') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends ApiError {
  constructor(what = 'resource') {
    super(404, 'not_found', `${what} not found`);
  }
}

export class InsufficientFundsError extends ApiError {
  constructor(message = 'insufficient funds') {
    super(402, 'insufficient_funds', message);
  }
}

/** 409: the request is valid but conflicts with the current state; `code` names the conflict. */
export class ConflictError extends ApiError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

export class IdempotencyKeyReusedError extends ApiError {
  constructor() {
    super(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `request body exceeds ${limitBytes} bytes`);
  }
}

export class RateLimitedError extends ApiError {
  constructor() {
    super(429, 'rate_limited', 'too many requests; slow down');
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(error: ApiError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}
