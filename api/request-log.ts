// One compact line per request: method, path, status, duration, request id
// and the caller's user id. The whole request and response (headers
// included, credentials redacted) are logged only at debug.
import type { RequestHandler } from 'express';
import pino, { type Logger } from 'pino';

/** Probes polled every few seconds would drown the log. */
const NOT_LOGGED = new Set(['/healthz', '/metrics']);
const MAX_PATH_LOGGED = 256;

/**
 * A 500 is a defect; a 502-504 is an answer the service chose because
 * something it needs is away or unconfigured (Stripe off, the database
 * unreachable), worth a warning but no alert.
 */
function levelOf(status: number): 'error' | 'warn' | 'info' {
  if (status >= 502 && status <= 504) return 'warn';
  return status >= 500 ? 'error' : 'info';
}

export function requestLog(logger: Logger): RequestHandler {
  const full = logger.child(
    {},
    {
      // Credentials never reach the logs.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      serializers: { req: pino.stdSerializers.req, res: pino.stdSerializers.res },
    },
  );
  return (req, res, next) => {
    const path = req.originalUrl.split('?', 1)[0]!;
    if (NOT_LOGGED.has(path)) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      const shownPath = path.length > MAX_PATH_LOGGED ? `${path.slice(0, MAX_PATH_LOGGED)}…` : path;
      const line = {
        reqId: req.id,
        method: req.method,
        path: shownPath,
        status: res.statusCode,
        durationMs,
        userId: (res.locals.userId as string | undefined) ?? null,
        // The client went away before the answer was complete.
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      const message = `${req.method} ${shownPath} ${res.statusCode} ${durationMs}ms`;
      logger[levelOf(res.statusCode)](line, message);
      if (logger.isLevelEnabled('debug')) full.debug({ reqId: req.id, req, res }, 'request and response');
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}
