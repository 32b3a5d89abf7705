// A local stand-in for the Stripe API, for tests that drive the real `stripe`
// SDK (point it here with STRIPE_API_URL: the SDK's host, port and protocol).
// It answers what this service calls, as Stripe answers it (form-encoded
// requests, JSON objects, Stripe's error shapes and statuses), checks the
// secret key, and honours Idempotency-Key as Stripe does: the same key with
// the same parameters gets the first answer again, with other parameters a
// 400 `idempotency_error`. Webhooks are signed with the SDK's own
// `stripe.webhooks.generateTestHeaderString`.
//
//   const stripe = await startFakeStripe();
//   const api = await startTestApi(stripe.env);           // STRIPE_* settings
//   ... POST /wallet/topups ...                           // stripe.sessions has it
//   stripe.markPaid(sessionId);                           // the customer paid
//   const { payload, header } = stripe.signedEvent('checkout.session.completed', stripe.session(id));
//   stripe.failNext(2, 'server');                         // the next two calls: 500
//   stripe.transfers.length                               // transfers actually made
//
// Endpoints: POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id,
// GET /v1/checkout/sessions (status, created[gte], limit), POST /v1/transfers,
// GET /v1/transfers (transfer_group, limit).
// Anything else is a 404 `invalid_request_error`, as Stripe answers it.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { registerCleanup } from './cleanup';

/** What an injected failure looks like to the SDK. */
export type FakeStripeFailure =
  /** 500 `api_error` (transient: the SDK retries it, then StripeAPIError). */
  | 'server'
  /** 429 `rate_limit` (transient: StripeRateLimitError). */
  | 'rate_limit'
  /** 409 `lock_timeout`, as for a request with the same idempotency key still running (transient). */
  | 'lock'
  /** 400 `invalid_request_error` (permanent: StripeInvalidRequestError). */
  | 'invalid_request'
  /** 401 `authentication_error` (permanent: StripeAuthenticationError). */
  | 'authentication'
  /** The connection is dropped without an answer (transient: StripeConnectionError). */
  | 'connection';

export interface FakeCheckoutSession {
  id: string;
  object: 'checkout.session';
  mode: 'payment';
  status: 'open' | 'complete' | 'expired';
  payment_status: 'paid' | 'unpaid';
  amount_subtotal: number;
  amount_total: number;
  currency: string;
  client_reference_id: string | null;
  customer_email: string | null;
  metadata: Record<string, string>;
  success_url: string;
  cancel_url: string;
  url: string | null;
  created: number;
  expires_at: number;
  livemode: false;
}

export interface FakeTransfer {
  id: string;
  object: 'transfer';
  amount: number;
  currency: string;
  destination: string;
  metadata: Record<string, string>;
  transfer_group: string | null;
  created: number;
  reversed: false;
  amount_reversed: 0;
  livemode: false;
}

export interface RecordedRequest {
  method: string;
  /** Without the query. */
  path: string;
  query: Record<string, unknown>;
  params: Record<string, unknown>;
  idempotencyKey: string | undefined;
  /** The status answered (0: the connection was dropped). */
  status: number;
}

export interface FakeStripe {
  /** The base URL: STRIPE_API_URL. */
  url: string;
  /** The only secret key it accepts (STRIPE_SECRET_KEY). */
  secretKey: string;
  /** The secret webhooks are signed with (STRIPE_WEBHOOK_SECRET). */
  webhookSecret: string;
  /** The three settings, for startTestApi(fake.env). */
  env: { STRIPE_SECRET_KEY: string; STRIPE_WEBHOOK_SECRET: string; STRIPE_API_URL: string };
  /** Every Checkout Session created, by id. */
  sessions: Map<string, FakeCheckoutSession>;
  /** Every transfer actually made (an idempotent replay makes none). */
  transfers: FakeTransfer[];
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** The session by id (throws when there is none). */
  session(id: string): FakeCheckoutSession;
  /**
   * The next `count` requests (those matching `only`, when given) fail as
   * `kind` says, before anything is done or remembered for their key.
   */
  failNext(count: number, kind?: FakeStripeFailure, only?: { method?: string; path?: RegExp }): void;
  /** The customer paid: the session is `complete` and `paid`. Returns it. */
  markPaid(sessionId: string): FakeCheckoutSession;
  /** The customer finished with an asynchronous method still settling: `complete`, `unpaid`. */
  markCompletedUnpaid(sessionId: string): FakeCheckoutSession;
  /** The session ended unpaid. */
  expire(sessionId: string): FakeCheckoutSession;
  /**
   * A webhook delivery of an event carrying `object`, as Stripe sends it: the
   * JSON payload and its `Stripe-Signature` header (the SDK's test header,
   * under `secret`, by default the webhook secret).
   */
  signedEvent(
    type: string,
    object: object,
    options?: { secret?: string; eventId?: string },
  ): { payload: string; header: string };
  close(): Promise<void>;
}

const now = () => Math.floor(Date.now() / 1000);
const stripeId = (prefix: string) => `${prefix}_test_${randomBytes(12).toString('hex')}`;

class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { type: string; message: string; code?: string; param?: string },
  ) {
    super(body.message);
  }
}

const FAILURES: Record<Exclude<FakeStripeFailure, 'connection'>, StripeHttpError> = {
  server: new StripeHttpError(500, { type: 'api_error', message: 'Something went wrong on our end (fake).' }),
  rate_limit: new StripeHttpError(429, {
    type: 'invalid_request_error',
    code: 'rate_limit',
    message: 'Too many requests hit the API too quickly (fake).',
  }),
  lock: new StripeHttpError(409, {
    type: 'invalid_request_error',
    code: 'lock_timeout',
    message: 'This object cannot be accessed right now because another API request is using it (fake).',
  }),
  invalid_request: new StripeHttpError(400, {
    type: 'invalid_request_error',
    code: 'parameter_invalid',
    message: 'Invalid request (fake, as asked by the test).',
  }),
  authentication: new StripeHttpError(401, {
    type: 'authentication_error',
    message: 'Invalid API Key provided (fake).',
  }),
};

/** Stripe's form encoding (`a[b][0][c]=1`) as nested objects; numeric keys make arrays. */
export function parseStripeForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let node: Record<string, unknown> = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    });
  }
  return arrays(root) as Record<string, unknown>;
}

function arrays(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, arrays(v)] as const);
  if (entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k))) {
    return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  }
  return Object.fromEntries(entries);
}

function integerParam(params: Record<string, unknown>, name: string): number {
  const text = params[name];
  if (typeof text !== 'string' || !/^\d+$/.test(text)) {
    throw new StripeHttpError(400, {
      type: 'invalid_request_error',
      code: 'parameter_invalid_integer',
      param: name,
      message: `Invalid integer: ${String(text)}`,
    });
  }
  return Number(text);
}

function stringRecord(value: unknown): Record<string, string> {
  return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
}

export async function startFakeStripe(
  options: { secretKey?: string; webhookSecret?: string } = {},
): Promise<FakeStripe> {
  const secretKey = options.secretKey ?? `sk_test_fake_${randomBytes(6).toString('hex')}`;
  const webhookSecret = options.webhookSecret ?? `whsec_fake_${randomBytes(12).toString('hex')}`;
  const sessions = new Map<string, FakeCheckoutSession>();
  const transfers: FakeTransfer[] = [];
  const requests: RecordedRequest[] = [];
  /** Idempotency-Key -> the request it was first used with and the answer given. */
  const keys = new Map<string, { request: string; status: number; body: string }>();
  const failures: { kind: FakeStripeFailure; method?: string; path?: RegExp }[] = [];
  let baseUrl = '';

  function createSession(params: Record<string, unknown>): FakeCheckoutSession {
    const items = Array.isArray(params.line_items) ? (params.line_items as Record<string, unknown>[]) : [];
    if (items.length === 0) {
      throw new StripeHttpError(400, {
        type: 'invalid_request_error',
        param: 'line_items',
        message: 'line_items is required in payment mode.',
      });
    }
    let total = 0;
    let currency: string | undefined;
    for (const item of items) {
      const price = stringRecord(item.price_data);
      total += integerParam(price, 'unit_amount') * integerParam(item, 'quantity');
      currency = price.currency;
    }
    if (currency === undefined || !/^[a-z]{3}$/.test(currency)) {
      throw new StripeHttpError(400, {
        type: 'invalid_request_error',
        param: 'line_items[0][price_data][currency]',
        message: `Invalid currency: ${String(currency)}`,
      });
    }
    const id = stripeId('cs');
    const session: FakeCheckoutSession = {
      id,
      object: 'checkout.session',
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
      amount_subtotal: total,
      amount_total: total,
      currency,
      client_reference_id: (params.client_reference_id as string | undefined) ?? null,
      customer_email: (params.customer_email as string | undefined) ?? null,
      metadata: stringRecord(params.metadata),
      success_url: String(params.success_url),
      cancel_url: String(params.cancel_url),
      url: `${baseUrl}/pay/${id}`,
      created: now(),
      expires_at: now() + 24 * 3600,
      livemode: false,
    };
    sessions.set(id, session);
    return session;
  }

  function createTransfer(params: Record<string, unknown>): FakeTransfer {
    const amount = integerParam(params, 'amount');
    const destination = typeof params.destination === 'string' ? params.destination : '';
    if (!/^acct_\w+$/.test(destination)) {
      throw new StripeHttpError(400, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'destination',
        message: `No such destination: '${destination}'`,
      });
    }
    const transfer: FakeTransfer = {
      id: stripeId('tr'),
      object: 'transfer',
      amount,
      currency: String(params.currency),
      destination,
      metadata: stringRecord(params.metadata),
      transfer_group: typeof params.transfer_group === 'string' ? params.transfer_group : null,
      created: now(),
      reversed: false,
      amount_reversed: 0,
      livemode: false,
    };
    transfers.push(transfer);
    return transfer;
  }

  function sessionOr404(id: string): FakeCheckoutSession {
    const session = sessions.get(id);
    if (session === undefined) {
      throw new StripeHttpError(404, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'session',
        message: `No such checkout.session: '${id}'`,
      });
    }
    return session;
  }

  function route(
    method: string,
    path: string,
    query: Record<string, unknown>,
    params: Record<string, unknown>,
  ) {
    if (method === 'POST' && path === '/v1/checkout/sessions') return createSession(params);
    if (method === 'POST' && path === '/v1/transfers') return createTransfer(params);
    if (method === 'GET' && path === '/v1/transfers') {
      const limit = query.limit === undefined ? 10 : integerParam(query, 'limit');
      const matching = transfers
        .filter((t) => query.transfer_group === undefined || t.transfer_group === query.transfer_group)
        .reverse();
      return {
        object: 'list',
        url: '/v1/transfers',
        has_more: matching.length > limit,
        data: matching.slice(0, limit),
      };
    }
    const one = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path);
    if (method === 'GET' && one !== null) return sessionOr404(decodeURIComponent(one[1]!));
    if (method === 'GET' && path === '/v1/checkout/sessions') {
      const created = stringRecord(query.created);
      const since = created.gte === undefined ? 0 : Number(created.gte);
      const limit = query.limit === undefined ? 10 : integerParam(query, 'limit');
      const matching = [...sessions.values()]
        .filter((s) => (query.status === undefined || s.status === query.status) && s.created >= since)
        .reverse();
      return {
        object: 'list',
        url: '/v1/checkout/sessions',
        has_more: matching.length > limit,
        data: matching.slice(0, limit),
      };
    }
    throw new StripeHttpError(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}).`,
    });
  }

  function takeFailure(method: string, path: string): FakeStripeFailure | undefined {
    const index = failures.findIndex(
      (f) => (f.method === undefined || f.method === method) && (f.path === undefined || f.path.test(path)),
    );
    return index === -1 ? undefined : failures.splice(index, 1)[0]!.kind;
  }

  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const query = parseStripeForm(url.search.slice(1));
      const params = method === 'POST' ? parseStripeForm(text) : {};
      const key = req.headers['idempotency-key'] as string | undefined;
      const recorded: RecordedRequest = {
        method,
        path: url.pathname,
        query,
        params,
        idempotencyKey: key,
        status: 0,
      };
      requests.push(recorded);
      const answer = (status: number, body: string) => {
        recorded.status = status;
        res.writeHead(status, {
          'Content-Type': 'application/json',
          'Request-Id': stripeId('req'),
          ...(key === undefined ? {} : { 'Idempotency-Key': key }),
        });
        res.end(body);
      };
      const failure = takeFailure(method, url.pathname);
      if (failure === 'connection') {
        req.socket.destroy();
        return;
      }
      try {
        if (req.headers.authorization !== `Bearer ${secretKey}`) throw FAILURES.authentication;
        if (failure !== undefined) throw FAILURES[failure];
        const request = `${method} ${url.pathname} ${text}`;
        const previous = key === undefined ? undefined : keys.get(key);
        if (previous !== undefined) {
          if (previous.request !== request) {
            throw new StripeHttpError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            });
          }
          answer(previous.status, previous.body);
          return;
        }
        const body = JSON.stringify(route(method, url.pathname, query, params));
        if (key !== undefined && method === 'POST') keys.set(key, { request, status: 200, body });
        answer(200, body);
      } catch (error) {
        if (!(error instanceof StripeHttpError)) {
          answer(500, JSON.stringify({ error: { type: 'api_error', message: String(error) } }));
          return;
        }
        answer(error.status, JSON.stringify({ error: error.body }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  registerCleanup(close);

  const update = (id: string, patch: Partial<FakeCheckoutSession>) => {
    const session = sessionOr404(id);
    Object.assign(session, patch);
    return structuredClone(session);
  };

  return {
    url: baseUrl,
    secretKey,
    webhookSecret,
    env: { STRIPE_SECRET_KEY: secretKey, STRIPE_WEBHOOK_SECRET: webhookSecret, STRIPE_API_URL: baseUrl },
    sessions,
    transfers,
    requests,
    session: (id) => structuredClone(sessionOr404(id)),
    failNext(count, kind = 'server', only = {}) {
      for (let i = 0; i < count; i++) failures.push({ kind, ...only });
    },
    markPaid: (id) => update(id, { status: 'complete', payment_status: 'paid', url: null }),
    markCompletedUnpaid: (id) => update(id, { status: 'complete', payment_status: 'unpaid', url: null }),
    expire: (id) => update(id, { status: 'expired', url: null }),
    signedEvent(type, object, signing = {}) {
      const payload = JSON.stringify({
        id: signing.eventId ?? stripeId('evt'),
        object: 'event',
        api_version: Stripe.API_VERSION,
        created: now(),
        type,
        data: { object },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
      });
      const header = Stripe.webhooks.generateTestHeaderString({
        payload,
        secret: signing.secret ?? webhookSecret,
      });
      return { payload, header };
    },
    close,
  };
}
