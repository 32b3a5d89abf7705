// The one place errors become HTTP answers. The services' DomainErrors and the
// HTTP layer's own errors carry their code; body-parser's own errors (malformed
// JSON, oversized body) are input errors; the database out of reach (down,
// restarting, no connection to be had) is 503, to retry; anything else is a
// bug: logged, and answered 500 without details.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type {} from 'pino-http'; // types req.log
import { UnavailableError } from '../domain/errors';
import {
  DomainError,
  HttpError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
  answerFor,
} from './errors';

/** What Express's and node-postgres's own errors carry. */
interface LowerLayerError {
  /** body-parser's kind of failure, when it is one of its own. */
  type?: string;
  status?: number;
  /** http-errors: true when the message is meant for the client. */
  expose?: boolean;
  limit?: number;
  /** node-postgres: the SQLSTATE. */
  code?: string;
}

/** Text the database refused to store: NUL, or bytes invalid in its encoding. */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/**
 * The database out of reach: the socket's own errors, PostgreSQL shutting down
 * or starting (57P01-57P03), out of connections (53300), connection exceptions
 * (class 08).
 */
const DATABASE_AWAY = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

function isDatabaseAway(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as LowerLayerError;
  if (code !== undefined && (DATABASE_AWAY.has(code) || code.startsWith('08'))) return true;
  // node-postgres (a connection lost mid-query; knex puts the query first) and knex (no connection
  // within its timeout) say so in words.
  return (
    error.name === 'KnexTimeoutError' ||
    /Connection terminated( unexpectedly| due to connection timeout)?$/.test(error.message)
  );
}

export function notFound(): RequestHandler {
  return (_req, _res, next) => next(new NotFoundError('route'));
}

export function errorHandler(): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (isDatabaseAway(error)) {
      req.log.warn({ err: error }, 'database unavailable');
      const answer = answerFor(
        new UnavailableError('the service cannot reach its database; try again shortly'),
      );
      res.status(answer.status).setHeader('Retry-After', '5').json(answer.body);
      return;
    }
    const known = toKnownError(error);
    if (known === undefined) {
      req.log.error({ err: error }, 'unhandled error');
      res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
      return;
    }
    const answer = answerFor(known);
    if (known instanceof MethodNotAllowedError) res.setHeader('Allow', known.allow);
    res.status(answer.status).json(answer.body);
  };
}

function toKnownError(error: unknown): DomainError | HttpError | undefined {
  if (error instanceof DomainError || error instanceof HttpError) return error;
  const httpError = error as LowerLayerError;
  switch (httpError.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(httpError.limit ?? 0);
    case 'entity.parse.failed':
      return new ValidationError('malformed JSON body');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ValidationError('unsupported body encoding');
    case 'request.aborted':
    case 'request.size.invalid':
      return new ValidationError('incomplete request body');
  }
  // A path parameter whose %-escapes are not UTF-8 (the router could not decode it).
  if (error instanceof URIError && httpError.status === 400) {
    return new ValidationError('the path holds a malformed %-escape');
  }
  // Any other client error the HTTP layer raised (a body that fails to inflate, say).
  if (
    httpError.expose === true &&
    httpError.status !== undefined &&
    httpError.status >= 400 &&
    httpError.status < 500
  ) {
    return new ValidationError('unreadable request body');
  }
  // A backstop: the schemas refuse such text before it gets this far.
  if (httpError.code !== undefined && UNSTORABLE_TEXT.has(httpError.code)) {
    return new ValidationError('text the database cannot store');
  }
  return undefined;
}
