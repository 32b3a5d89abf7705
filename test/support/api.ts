// The real application on an ephemeral port, over the test database, and a
// small HTTP client for it. One shared instance serves most tests; tests that
// need other settings start their own.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createApp } from '../../api/app';
import { listen } from '../../api/http-server';
import { LedgerBatcher } from '../../ledger/batcher';
import { loadSettings, type Settings } from '../../config/settings';
import type { Db } from '../../db/knex';
import type { Clock } from '../../domain/clock';
import { assemble, bookingDeps, withdrawalDeps, type Platform } from '../../platform/platform';
import { hashPassword } from '../../users/passwords';
import { insertUser } from '../../users/repository';
import { TokenService } from '../../users/tokens';
import { openWallet } from '../../wallet/wallet-account';
import { attachNotificationSockets } from '../../api/sockets';
import { registerCleanup } from './cleanup';
import { testDatabase, TEST_CURRENCY } from './db';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as is (for malformed JSON and odd content types). */
  rawBody?: string;
  headers?: Record<string, string | undefined>;
}

export interface TestApi {
  url: string;
  db: Db;
  settings: Settings;
  tokens: TokenService;
  platform: Platform;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export interface Session {
  user: { id: string; email: string; role: 'student' | 'teacher' | 'admin'; referralCode: string | null };
  token: string;
}

let shared: Promise<TestApi> | undefined;

export function testApi(): Promise<TestApi> {
  return (shared ??= startTestApi());
}

export const TEST_JWT_SECRET = 'test-secret-shared-by-the-test-apis-0123456789';
/** One data key too: a request remembered by one API (its Idempotency-Key) is recognised by another. */
export const TEST_DATA_KEY = Buffer.alloc(32, 7).toString('base64');

export interface TestApiOptions {
  logger?: pino.Logger;
  /** Temporal to start and drive workflows on; without it, a connection that is never used. */
  temporal?: { client: Client; connection: Connection };
  clock?: Clock;
  /** Serve Socket.IO notifications too (its adapter holds database connections of its own). */
  sockets?: boolean;
}

export async function startTestApi(
  env: Record<string, string> = {},
  options: TestApiOptions = {},
): Promise<TestApi> {
  const { db, url: databaseUrl } = await testDatabase();
  const settings = loadSettings({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    // One secret for every API of the test process: a token from one is good on another.
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    CURRENCY: TEST_CURRENCY,
    AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
    ...env,
  });
  const tokens = new TokenService(settings.JWT_SECRET, settings.JWT_TTL_MINUTES);
  const logger = options.logger ?? pino({ level: 'silent' });
  // Tests that never book need no Temporal: a lazy connection that is never dialled.
  const temporal = options.temporal ?? unusedTemporal();
  const platform = assemble({
    settings,
    logger,
    db,
    databaseUrl,
    databaseOrigin: 'test database',
    client: temporal.client,
    connection: temporal.connection,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const app = createApp({
    settings,
    db,
    ledger: platform.ledger,
    tokens,
    logger,
    bookings: bookingDeps(platform),
    withdrawals: withdrawalDeps(platform),
    stripe: platform.stripe,
  });
  const server = await listen(app, 0, '127.0.0.1');
  const sockets =
    options.sockets === true
      ? attachNotificationSockets(server.server, { databaseUrl, db, tokens, logger })
      : undefined;
  const url = `http://127.0.0.1:${server.port}`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await sockets?.close();
    await server.close(1_000);
  };
  registerCleanup(close);

  return {
    url,
    db,
    settings,
    tokens,
    platform,
    close,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(options.headers ?? {}))
        if (value !== undefined) headers[name] = value;
      if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['Content-Type'] ??= 'application/json';
      }
      const response = await fetch(url + path, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = undefined;
      if ((response.headers.get('content-type') ?? '').includes('json') && text !== '')
        parsed = JSON.parse(text);
      return { status: response.status, headers: response.headers, body: parsed as never, text };
    },
  };
}

export async function register(
  api: TestApi,
  role: 'student' | 'teacher',
  extra: { referralCode?: string; email?: string } = {},
): Promise<Session> {
  const response = await api.request<Session>('POST', '/api/v1/auth/register', {
    body: {
      email: extra.email ?? `${role}-${randomUUID()}@test.example`,
      password: 'correct horse battery',
      name: `Test ${role}`,
      role,
      ...(extra.referralCode === undefined ? {} : { referralCode: extra.referralCode }),
    },
  });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${response.text}`);
  return response.body;
}

/** Admins cannot register through the API; tests create them as the bootstrap does. */
export async function createAdmin(api: TestApi): Promise<Session> {
  const user = await insertUser(api.db, {
    email: `admin-${randomUUID()}@test.example`,
    passwordHash: await hashPassword('correct horse battery'),
    name: 'Test admin',
    role: 'admin',
    referralCode: null,
    referredByTeacherId: null,
  });
  await openWallet(api.db, user, TEST_CURRENCY);
  return {
    user: { ...user, referralCode: null },
    token: await api.tokens.sign({ userId: user.id, role: 'admin' }),
  };
}

export async function depositTo(api: TestApi, session: Session, amount: number): Promise<void> {
  const response = await api.request('POST', '/api/v1/wallet/deposit', {
    token: session.token,
    body: { amount },
  });
  if (response.status !== 201) throw new Error(`deposit failed: ${response.status} ${response.text}`);
}

function unusedTemporal(): { client: Client; connection: Connection } {
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  return { connection, client: new Client({ connection }) };
}

/** The application as testApi() runs it, over another database. */
export async function appOn(db: Db, shared: TestApi): Promise<TestApi> {
  const app = createApp({
    settings: shared.settings,
    db,
    ledger: new LedgerBatcher(db),
    tokens: shared.tokens,
    logger: pino({ level: 'silent' }),
    bookings: { ...bookingDeps(shared.platform), db },
    withdrawals: { ...withdrawalDeps(shared.platform), db },
    stripe: shared.platform.stripe,
  });
  const server = await listen(app, 0, '127.0.0.1');
  registerCleanup(() => server.close(1_000));
  const url = `http://127.0.0.1:${server.port}`;
  return {
    ...shared,
    url,
    db,
    close: () => server.close(1_000),
    async request(method, path, options = {}) {
      const headers: Record<string, string> = {};
      if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['Content-Type'] = 'application/json';
      const response = await fetch(url + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await response.text();
      const json = (response.headers.get('content-type') ?? '').includes('json');
      return {
        status: response.status,
        headers: response.headers,
        text,
        body: json ? JSON.parse(text) : undefined,
      };
    },
  };
}
