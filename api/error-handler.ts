// The one place errors become HTTP answers. ApiErrors carry their status and
// code; body-parser's own errors (malformed JSON, oversized body) are input
// errors; anything else is a bug: logged, and answered 500 without details.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type {} from 'pino-http'; // types req.log
import { ApiError, NotFoundError, PayloadTooLargeError, ValidationError, errorBody } from './errors';

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
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
    const apiError = toApiError(error);
    if (apiError === undefined) {
      req.log.error({ err: error }, 'unhandled error');
      res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
      return;
    }
    if (apiError.status >= 500) req.log.error({ err: error }, apiError.message);
    res.status(apiError.status).json(errorBody(apiError));
  };
}

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const parserError = error as BodyParserError;
  switch (parserError.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(parserError.limit ?? 0);
    case 'entity.parse.failed':
      return new ValidationError('malformed JSON body');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ValidationError('unsupported body encoding');
    case 'request.aborted':
    case 'request.size.invalid':
      return new ValidationError('incomplete request body');
    default:
      return undefined;
  }
}
