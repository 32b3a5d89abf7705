// Prometheus metrics: process defaults plus HTTP request durations by route.
// Served only where a scraper is meant to reach them: on a listener of their
// own (METRICS_PORT, loopback by default) and/or behind a bearer token
// (METRICS_TOKEN); never open on the API port.
import { timingSafeEqual } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { ForbiddenError, UnauthorizedError } from './errors';
import { errorHandler, notFound } from './error-handler';
import { methodNotAllowed } from './method-not-allowed';

export interface Metrics {
  registry: Registry;
  middleware: RequestHandler;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.once('finish', () => {
      // The route pattern, not the URL: ids would explode the label set.
      const pattern = res.locals.routePattern as string | undefined;
      const route =
        pattern ??
        (req.route === undefined
          ? 'unmatched'
          : `${req.baseUrl}${String((req.route as { path: string }).path)}`);
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
  return { registry, middleware };
}

/** GET /metrics: the registry in Prometheus' text format, to `Authorization: Bearer <token>` when a token is set. */
export function metricsRoute(registry: Registry, token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : Buffer.from(token);
  return (req, res, next) => {
    if (expected !== undefined) {
      const given = Buffer.from(/^Bearer +(.*)$/i.exec(req.get('Authorization') ?? '')?.[1] ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        next(new UnauthorizedError('metrics need "Authorization: Bearer <METRICS_TOKEN>"'));
        return;
      }
    }
    registry.metrics().then(
      (text) => void res.type(registry.contentType).send(text),
      (error: unknown) => next(error),
    );
  };
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The METRICS_PORT listener's application: /metrics and nothing else. Without
 * a token it listens on loopback only (settings insist), and answers only a
 * Host naming loopback: a DNS-rebinding page cannot read it through a browser.
 */
export function metricsApp(registry: Registry, token: string | undefined): Express {
  const app = express();
  app.disable('x-powered-by');
  if (token === undefined) {
    app.use((req, _res, next) => {
      const host = (req.get('Host') ?? '').toLowerCase().replace(/:\d+$/, '');
      next(LOOPBACK_NAMES.has(host) ? undefined : new ForbiddenError('metrics answer a loopback Host only'));
    });
  }
  app.get('/metrics', metricsRoute(registry, token));
  app.use(methodNotAllowed(app));
  app.use(notFound());
  app.use(errorHandler());
  return app;
}
