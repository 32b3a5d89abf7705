// The Express application: the thin HTTP front of the services. Everything
// it needs arrives in AppDeps; it starts nothing itself.
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import rateLimit from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import type { MeetingDeps } from '../bookings/meetings';
import type { BookingDeps } from '../bookings/service';
import type { Settings } from '../config/settings';
import type { Db } from '../db/knex';
import type { LedgerBatcher } from '../ledger/batcher';
import type { StripeGateway } from '../payments/stripe';
import type { TopupDeps } from '../payments/topups';
import type { TokenService } from '../users/tokens';
import type { WithdrawalDeps } from '../withdrawals/service';
import { createAuthenticator } from './authenticate';
import { CONSOLE_PATH, consoleRouter } from './console';
import { MethodNotAllowedError, NotFoundError, RateLimitedError, ValidationError } from './errors';
import { errorHandler, notFound } from './error-handler';
import { createIdempotency } from './idempotency';
import type { MetricsListener } from './http-server';
import { createMetrics, metricsApp, metricsRoute } from './metrics';
import { methodNotAllowed } from './method-not-allowed';
import { openApiDocument } from './openapi';
import { requestLog } from './request-log';
import { API_PREFIX, ApiRoutes } from './route';
import { authRoutes } from './routes/auth';
import { bookingRoutes } from './routes/bookings';
import { meetingRoutes } from './routes/meetings';
import { teacherRoutes } from './routes/teachers';
import { notificationRoutes } from './routes/notifications';
import { revenueRoutes } from './routes/revenue';
import { topupRoutes } from './routes/topups';
import { walletRoutes } from './routes/wallet';
import { withdrawalRoutes } from './routes/withdrawals';
import { documentWebhooks, mountWebhooks } from './routes/webhooks';
import { wellFormedText } from './well-formed';
import { exactNumbers, keepRawBody } from './exact-numbers';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface AppDeps {
  settings: Settings;
  db: Db;
  ledger: LedgerBatcher;
  tokens: TokenService;
  logger: Logger;
  /** The booking services (Temporal client, LiveKit, clock, policy). */
  bookings: BookingDeps;
  /** The withdrawal services (Temporal client, the data key, the payout provider). */
  withdrawals: WithdrawalDeps;
  /** Stripe (the platform's one StripeGateway): top-ups and their webhook. */
  stripe: StripeGateway;
  /** Dependencies /readyz reports on (the database is always one). */
  readiness?: ReadinessCheck[];
}

const READINESS_TIMEOUT_MS = 2_000;

export function createApp(deps: AppDeps): Express {
  const { settings, db, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy(settings.TRUST_PROXY));
  // Plain key=value queries: nested objects and arrays are not part of any schema.
  app.set('query parser', 'simple');

  app.use(
    pinoHttp({
      logger,
      // req.log carries the request id only; requestLog writes the one line per request.
      quietReqLogger: true,
      autoLogging: false,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
    }),
  );
  app.use(requestLog(logger));
  const metrics = createMetrics();
  app.use(metrics.middleware);
  // Where listen() serves this app and, on a port of their own, its metrics.
  app.locals.listenHost = settings.HOST;
  if (settings.METRICS_PORT !== undefined) {
    const listener: MetricsListener = {
      host: settings.METRICS_HOST,
      port: settings.METRICS_PORT,
      app: metricsApp(metrics.registry, settings.METRICS_TOKEN),
    };
    app.locals.metricsListener = listener;
  }

  const routes = new ApiRoutes();
  authRoutes(routes, { db, tokens: deps.tokens, currency: settings.CURRENCY });
  walletRoutes(routes, { db, ledger: deps.ledger, currency: settings.CURRENCY }, settings);
  const meetings: MeetingDeps = {
    db,
    clock: deps.bookings.clock,
    workflowLinks: deps.bookings.workflowLinks,
  };
  meetingRoutes(routes, { meetings, bookings: deps.bookings, maxAmountMinor: settings.MAX_AMOUNT_MINOR });
  bookingRoutes(routes, deps.bookings);
  teacherRoutes(routes, meetings);
  notificationRoutes(routes, { db });
  withdrawalRoutes(routes, deps.withdrawals, { maxAmountMinor: settings.MAX_AMOUNT_MINOR });
  const topups: TopupDeps = { db, stripe: deps.stripe, logger, currency: settings.CURRENCY };
  topupRoutes(routes, { ...topups, publicUrl: settings.PUBLIC_URL }, settings);
  revenueRoutes(routes, { db, currency: settings.CURRENCY, clock: deps.bookings.clock });
  const document = openApiDocument(routes, documentWebhooks);

  // A path with dot segments (`/docs/../../package.json`) names nothing here: clients resolve them.
  app.use((req, _res, next) => {
    next(DOT_SEGMENT.test(req.path) ? new NotFoundError('route') : undefined);
  });
  // Swagger UI loads its own inline styles and scripts; everything else gets helmet's full policy.
  app.use(
    '/docs',
    docsGuard(),
    helmet({ contentSecurityPolicy: false }),
    swaggerUi.serve,
    swaggerUi.setup(document),
  );
  app.use(helmet());
  // The web console: same origin as the API, its own stricter Content-Security-Policy.
  app.use(
    CONSOLE_PATH,
    consoleRouter(
      {
        currency: settings.CURRENCY,
        testDeposits: settings.ENABLE_TEST_DEPOSITS,
        topups: deps.stripe.configured,
      },
      { livekitUrl: deps.bookings.livekitUrl },
    ),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: ReadinessCheck[] = [
      { name: 'database', check: async () => void (await db.raw('select 1')) },
      ...(deps.readiness ?? []),
    ];
    const results = await Promise.all(
      checks.map(async ({ name, check }) => [name, await probe(check)] as const),
    );
    const ready = results.every(([, result]) => result === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
  });
  // On the API port only behind the scraper's token: anyone may reach this port.
  if (settings.METRICS_TOKEN !== undefined) {
    app.get('/metrics', metricsRoute(metrics.registry, settings.METRICS_TOKEN));
  }
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });

  const api = express.Router();
  api.use(
    '/auth',
    rateLimit({
      windowMs: 60_000,
      limit: settings.AUTH_RATE_LIMIT_PER_MINUTE,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: (_req, _res, next) => next(new RateLimitedError()),
    }),
  );
  // Signed over their raw bodies: before the JSON parser.
  mountWebhooks(api, { presence: deps.bookings, topups, bodyLimitBytes: settings.BODY_LIMIT_BYTES });
  api.use(express.json({ limit: settings.BODY_LIMIT_BYTES, strict: true, verify: keepRawBody }));
  api.use(wellFormedText());
  api.use(exactNumbers());
  api.use((req, _res, next) => {
    // A body that is not JSON would otherwise reach the schemas as "missing fields".
    if (req.method !== 'GET' && hasBody(req) && !req.is('application/json')) {
      next(new ValidationError('Content-Type must be application/json'));
      return;
    }
    next();
  });
  routes.mount(api, {
    authenticate: createAuthenticator(db, deps.tokens),
    idempotent: createIdempotency(db, {
      keyring: deps.withdrawals.keyring,
      formerSecret: settings.JWT_SECRET,
    }),
  });
  app.use(API_PREFIX, api);

  app.use(methodNotAllowed(app));
  app.use(notFound());
  app.use(errorHandler());
  return app;
}

/** A `.` or `..` segment, spelt plainly or %-escaped. */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

/**
 * Swagger UI's middleware answers every method with its page, and its own
 * package.json with a plain-text 404: it is only asked for its pages.
 */
function docsGuard(): express.RequestHandler {
  return (req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      next(new MethodNotAllowedError(req.method, 'GET, HEAD'));
    // express.static decodes the path: `package%2ejson` must be refused as `package.json` is.
    else next(/\/package\.json$/i.test(decodedPath(req.path)) ? new NotFoundError('route') : undefined);
  };
}

function decodedPath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath; // a bad %-escape is answered 400 further on
  }
}

/** TRUST_PROXY as Express wants it: a boolean, a hop count, or addresses/subnets. */
function trustProxy(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

function hasBody(req: express.Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function probe(check: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`)),
          READINESS_TIMEOUT_MS,
        );
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}
