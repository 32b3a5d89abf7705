// Errors as the API answers them. The services' refusals are the DomainErrors
// of domain/errors.ts (re-exported here for the routes); the errors below are
// the HTTP layer's own. error-handler.ts maps both, and nothing else, to the
// spec's shape `{"error": {"code", "message", "details"?}}`.
import { DomainError, type RefusalKind } from '../domain/errors';

export {
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientFundsError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  type FieldProblem,
} from '../domain/errors';

/** A refusal that only exists at the HTTP layer (body size, rate limits). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `request body exceeds ${limitBytes} bytes`);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(
    method: string,
    /** The `Allow` header's value. */
    readonly allow: string,
  ) {
    super(405, 'method_not_allowed', `${method} is not allowed here; allowed: ${allow}`);
  }
}

export class RateLimitedError extends HttpError {
  constructor() {
    super(429, 'rate_limited', 'too many requests; slow down');
  }
}

/** The one table from a service's refusal to an HTTP status. */
export const STATUS_OF_REFUSAL: Record<RefusalKind, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  insufficient_funds: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_key_reused: 422,
  unavailable: 503,
};

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export interface HttpAnswer {
  status: number;
  body: ErrorBody;
}

/** An answer lists at most this many problems (the first ones); the message says how many there were. */
export const MAX_PROBLEMS_LISTED = 20;

export function answerFor(error: DomainError | HttpError): HttpAnswer {
  const status = error instanceof DomainError ? STATUS_OF_REFUSAL[error.kind] : error.status;
  let details = error instanceof DomainError ? error.details : undefined;
  let message = error.message;
  if (details !== undefined && details.length > MAX_PROBLEMS_LISTED) {
    message = `${message} (${details.length} problems; the first ${MAX_PROBLEMS_LISTED} are listed)`;
    details = details.slice(0, MAX_PROBLEMS_LISTED);
  }
  return {
    status,
    body: {
      error: { code: error.code, message, ...(details === undefined ? {} : { details }) },
    },
  };
}
