// The one place errors become HTTP answers. The services' DomainErrors and the
// HTTP layer's own errors carry their code; body-parser's own errors (malformed
// JSON, oversized body) are input errors; anything else is a bug: logged, and
// answered 500 without details.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type {} from 'pino-http'; // types req.log
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

export function notFound(): RequestHandler {
  return (_req, _res, next) => next(new NotFoundError('route'));
}

export function errorHandler(): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
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
