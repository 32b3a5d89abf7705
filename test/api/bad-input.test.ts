// Bad input, for every route the OpenAPI document lists (so a new route is
// covered the day it is added): answers the right 4xx in the spec's shape,
// and the ledger and the users table are exactly as they were.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  createAdmin,
  depositTo,
  register,
  testApi,
  type ApiResponse,
  type Session,
  type TestApi,
} from '../support/api';

interface DocumentedRoute {
  method: 'get' | 'post';
  path: string;
  roles: string[] | 'public';
  hasBody: boolean;
  hasQuery: boolean;
}

/** A valid body per route with a body; a route missing here fails the test, on purpose. */
const VALID_BODIES: Record<string, () => Record<string, unknown>> = {
  'post /api/v1/auth/register': () => ({
    email: `valid-${randomUUID()}@test.example`,
    password: 'long enough pw',
    name: 'Valid',
    role: 'student',
  }),
  'post /api/v1/auth/login': () => ({ email: 'nobody@test.example', password: 'whatever pw' }),
  'post /api/v1/wallet/deposit': () => ({ amount: 1 }),
  'post /api/v1/wallet/topups': () => ({ amount: 1_000 }),
  'post /api/v1/teachers/me/slots': () => ({
    startsAt: new Date(Date.now() + 86_400_000).toISOString(),
    durationMinutes: 60,
    price: 1_000,
  }),
  'post /api/v1/courses': () => ({
    title: 'Valid course',
    capacity: 2,
    pricePerSession: 500,
    sessions: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), durationMinutes: 30 }],
  }),
  'post /api/v1/meetings/{id}/cancel': () => ({}),
  'post /api/v1/bookings': () => ({ meetingId: randomUUID() }),
  'post /api/v1/bookings/{id}/cancel': () => ({}),
  'post /api/v1/bookings/{id}/dispute': () => ({ reason: 'it did not happen' }),
  'post /api/v1/admin/reviews/{bookingId}/resolve': () => ({ decision: 'release' }),
  'post /api/v1/withdrawals': () => ({
    amount: 1_000,
    bankAccount: { holderName: 'Valid', iban: 'DE89370400440532013000' },
  }),
  'post /api/v1/admin/withdrawals/{id}/approve': () => ({}),
  'post /api/v1/admin/withdrawals/{id}/reject': () => ({ reason: 'not valid' }),
  'post /api/v1/admin/withdrawals/{id}/complete': () => ({ reference: 'REF-1' }),
  'post /api/v1/admin/withdrawals/{id}/fail': () => ({ reason: 'bounced' }),
  'put /api/v1/teachers/me/stripe-account': () => ({ stripeAccountId: 'acct_123' }),
  'put /api/v1/me/notification-preferences': () => ({
    email: { bookings: true, money: true, reviews: true },
  }),
};

/** Webhooks are signed over their raw bodies: test/api/livekit-webhook.test.ts covers their bad input. */
const isWebhook = (route: { path: string }) => route.path.includes('/webhooks/');

function assertErrorShape(response: ApiResponse, status: number, code?: string): void {
  assert.equal(response.status, status, `${response.status} ${response.text}`);
  assert.equal(typeof response.body?.error?.code, 'string', response.text);
  assert.equal(typeof response.body.error.message, 'string');
  if (code !== undefined) assert.equal(response.body.error.code, code);
}

/** Sends bytes as they are (no client normalises the path) and reads the first answer. */
function rawRequest(url: string, request: string): Promise<{ status: number; body: string; raw: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(request));
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (raw += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(raw)?.[1] ?? 0);
      const start = raw.indexOf('\r\n\r\n') + 4;
      resolve({ status, body: raw.slice(start, start + length), raw });
    });
  });
}

async function snapshot(api: TestApi): Promise<{ transfers: number; users: number; keys: number }> {
  const count = async (table: string) => Number((await api.db(table).count({ n: '*' }))[0]!.n);
  return {
    transfers: await count('ledger_transfers'),
    users: await count('users'),
    keys: await count('idempotency_keys'),
  };
}

describe('bad input', () => {
  let api: TestApi;
  let routes: DocumentedRoute[];
  const sessions: Record<string, Session> = {};

  before(async () => {
    api = await testApi();
    sessions.student = await register(api, 'student');
    sessions.teacher = await register(api, 'teacher');
    sessions.admin = await createAdmin(api);
    await depositTo(api, sessions.student, 1_000);

    const document = (await api.request('GET', '/openapi.json')).body;
    routes = [];
    for (const [path, operations] of Object.entries<any>(document.paths)) {
      if (!path.startsWith('/api/v1/')) continue; // /healthz and /readyz take no input
      for (const [method, operation] of Object.entries<any>(operations)) {
        const roles = /^Roles: (.*)\.$/.exec(operation.description ?? '');
        routes.push({
          method: method as 'get' | 'post',
          path,
          roles: roles === null ? 'public' : roles[1]!.split(', '),
          hasBody: operation.requestBody !== undefined,
          hasQuery: (operation.parameters ?? []).some((p: any) => p.in === 'query'),
        });
      }
    }
    assert.ok(routes.length >= 6, 'the document lists the routes');
  });

  const tokenFor = (route: DocumentedRoute) =>
    route.roles === 'public' ? undefined : sessions[route.roles[0]!]!.token;

  it('when a protected route is called without a token or with a bad one, then 401 and nothing changes', async () => {
    const before = await snapshot(api);
    for (const route of routes.filter((r) => r.roles !== 'public')) {
      const body = VALID_BODIES[`${route.method} ${route.path}`]?.();
      for (const headers of [{}, { Authorization: 'Bearer garbage' }]) {
        const response = await api.request(route.method.toUpperCase(), route.path, { body, headers });
        assertErrorShape(response, 401, 'unauthorized');
      }
    }
    assert.deepEqual(await snapshot(api), before);
  });

  it('when a body is malformed JSON, not JSON, has an unknown field or is too large, then 400/413 and nothing changes', async () => {
    const before = await snapshot(api);
    for (const route of routes.filter((r) => r.hasBody && !isWebhook(r))) {
      const key = `${route.method} ${route.path}`;
      const valid = VALID_BODIES[key];
      assert.ok(valid !== undefined, `add a valid body for ${key} to VALID_BODIES`);
      const token = tokenFor(route);
      const send = (options: Parameters<TestApi['request']>[2]) =>
        api.request(route.method.toUpperCase(), route.path, { token, ...options });

      assertErrorShape(
        await send({ rawBody: '{"amount": 1,', headers: { 'Content-Type': 'application/json' } }),
        400,
        'validation_error',
      );
      assertErrorShape(
        await send({ rawBody: 'amount=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
        400,
        'validation_error',
      );
      assertErrorShape(await send({ body: { ...valid(), unexpected: true } }), 400, 'validation_error');
      assertErrorShape(await send({ body: [valid()] }), 400, 'validation_error');
      assertErrorShape(await send({ body: null }), 400, 'validation_error');
      const huge = JSON.stringify({ ...valid(), padding: 'x'.repeat(api.settings.BODY_LIMIT_BYTES) });
      assertErrorShape(
        await send({ rawBody: huge, headers: { 'Content-Type': 'application/json' } }),
        413,
        'payload_too_large',
      );
    }
    assert.deepEqual(await snapshot(api), before);
  });

  it('when a query has an unknown or ill-typed parameter, then 400', async () => {
    for (const route of routes.filter((r) => r.method === 'get')) {
      const response = await api.request('GET', `${route.path}?unexpected=1`, { token: tokenFor(route) });
      assertErrorShape(response, 400, 'validation_error');
    }
    const token = sessions.student!.token;
    for (const query of [
      'limit=0x10',
      'limit[]=5',
      `cursor=${Buffer.from('1e3').toString('base64url')}`,
      `cursor=${Buffer.from(' 10').toString('base64url')}`,
      'limit=0',
      'limit=101',
      'limit=abc',
      'limit=1&limit=2',
      'type=gift',
      'from=yesterday',
      'cursor=!!',
      'cursor=LTE',
      'format=xml',
    ]) {
      const response = await api.request('GET', `/api/v1/wallet/transactions?${query}`, { token });
      assertErrorShape(response, 400, 'validation_error');
    }
  });

  it('when an amount is of the wrong type, not positive, fractional or huge, then 400 names the field and no money moves', async () => {
    const before = await snapshot(api);
    const token = sessions.student!.token;
    for (const amount of [
      '10',
      -5,
      0,
      1.5,
      1e20,
      api.settings.MAX_AMOUNT_MINOR + 1,
      null,
      [],
      {},
      true,
      '',
    ]) {
      const response = await api.request('POST', '/api/v1/wallet/deposit', { token, body: { amount } });
      assertErrorShape(response, 400, 'validation_error');
      assert.equal(response.body.error.details[0].path, 'body.amount', JSON.stringify(amount));
    }
    const missing = await api.request('POST', '/api/v1/wallet/deposit', { token, body: {} });
    assertErrorShape(missing, 400, 'validation_error');
    const badUser = await api.request('POST', '/api/v1/wallet/deposit', {
      token,
      body: { amount: 1, userId: 'me' },
    });
    assertErrorShape(badUser, 400, 'validation_error');
    assert.deepEqual(await snapshot(api), before);
    assert.equal((await api.request('GET', '/api/v1/wallet', { token })).body.available, 1_000);
  });

  it('when a number has a fraction that reading it would round away, then 400 and nothing changes; a whole number spelt with a point or an exponent is that number', async () => {
    const before = await snapshot(api);
    const deposit = await api.request('POST', '/api/v1/wallet/deposit', {
      token: sessions.student!.token,
      rawBody: '{"amount": 99.99999999999999999}',
      headers: { 'Content-Type': 'application/json' },
    });
    assertErrorShape(deposit, 400, 'validation_error');
    assert.equal(
      deposit.body.error.details[0].message,
      '99.99999999999999999 is not a whole number, though it would be read as 100',
    );
    const slot = VALID_BODIES['post /api/v1/teachers/me/slots']!();
    const meetings = Number((await api.db('meetings').count({ n: '*' }))[0]!.n);
    const rounded = await api.request('POST', '/api/v1/teachers/me/slots', {
      token: sessions.teacher!.token,
      rawBody: JSON.stringify({ ...slot, price: 0 }).replace('"price":0', '"price":1000.0000000000000001'),
      headers: { 'Content-Type': 'application/json' },
    });
    assertErrorShape(rounded, 400, 'validation_error');
    assert.deepEqual(await snapshot(api), before);
    assert.equal(Number((await api.db('meetings').count({ n: '*' }))[0]!.n), meetings);

    const spelt = await api.request('POST', '/api/v1/teachers/me/slots', {
      token: sessions.teacher!.token,
      rawBody: JSON.stringify({ ...slot, price: 0, durationMinutes: 0 })
        .replace('"price":0', '"price":1000.00')
        .replace('"durationMinutes":0', '"durationMinutes":6e1'),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(spelt.status, 201, spelt.text);
    assert.equal(spelt.body.price, 1_000);
    assert.equal(spelt.body.durationMinutes, 60);
  });

  it('when a JSON body comes in another charset than UTF-8, then 400 and nothing changes (it could hide a number from the checks)', async () => {
    const before = await snapshot(api);
    const response = await fetch(`${api.url}/api/v1/wallet/deposit`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${sessions.student!.token}`,
        'Content-Type': 'application/json; charset=utf-16le',
      },
      body: Buffer.from('{"amount":99.99999999999999999}', 'utf16le'),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string; details: { message: string }[] } };
    assert.equal(body.error.code, 'validation_error');
    assert.equal(body.error.details[0]!.message, 'JSON must be UTF-8 (RFC 8259), not utf-16le');
    assert.deepEqual(await snapshot(api), before);

    const named = await api.request('POST', '/api/v1/auth/register', {
      rawBody: JSON.stringify(VALID_BODIES['post /api/v1/auth/register']!()),
      headers: { 'Content-Type': 'application/json; charset=UTF-8' },
    });
    assert.equal(named.status, 201, named.text);
  });

  it('when registration fields are wrong, then 400 names each bad field and no user is created', async () => {
    const before = await snapshot(api);
    const valid = VALID_BODIES['post /api/v1/auth/register']!;
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid(), email: 'not-an-email' }, 'body.email'],
      [{ ...valid(), email: 42 }, 'body.email'],
      [{ ...valid(), password: 'short' }, 'body.password'],
      [{ ...valid(), name: '   ' }, 'body.name'],
      [{ ...valid(), role: 'admin' }, 'body.role'],
      [{ ...valid(), referralCode: '' }, 'body.referralCode'],
    ];
    for (const [body, path] of cases) {
      const response = await api.request('POST', '/api/v1/auth/register', { body });
      assertErrorShape(response, 400, 'validation_error');
      assert.equal(response.body.error.details[0].path, path);
    }
    assert.deepEqual(await snapshot(api), before);
  });

  it('when an Idempotency-Key is not printable or too long, then 400', async () => {
    const token = sessions.student!.token;
    for (const key of ['x'.repeat(256), 'with space']) {
      const response = await api.request('POST', '/api/v1/wallet/deposit', {
        token,
        body: { amount: 1 },
        headers: { 'Idempotency-Key': key },
      });
      assertErrorShape(response, 400, 'validation_error');
    }
  });

  it('when a route does not exist, then 404 in the error shape', async () => {
    assertErrorShape(await api.request('GET', '/api/v1/nope'), 404, 'not_found');
    assertErrorShape(await api.request('DELETE', '/api/v1/nope'), 404, 'not_found');
  });

  it('when a known path is asked with a method it does not serve, then 405 with Allow in the error shape', async () => {
    const id = randomUUID();
    for (const [method, path, allow] of [
      ['DELETE', '/api/v1/wallet', 'GET, HEAD'],
      ['GET', '/api/v1/auth/register', 'POST'],
      ['PUT', `/api/v1/bookings/${id}/cancel`, 'POST'],
      ['GET', '/api/v1/webhooks/livekit', 'POST'],
      ['GET', '/api/v1/webhooks/stripe', 'POST'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['DELETE', '/openapi.json', 'GET, HEAD'],
      ['POST', '/docs/', 'GET, HEAD'],
    ] as const) {
      const response = await api.request(method, path, { token: sessions.student!.token });
      assertErrorShape(response, 405, 'method_not_allowed');
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
    }
    for (const path of ['/api/v1/wallet', '/healthz']) {
      const options = await api.request('OPTIONS', path);
      assert.equal(options.status, 200);
      assert.equal(options.headers.get('allow'), 'GET, HEAD');
    }
  });

  it('when a path has dot segments or a bad %-escape, then 404 or 400 in the error shape (never plain text, never 500)', async () => {
    for (const path of [
      '/docs/../../package.json',
      '/docs/%2e%2e/%2E%2E/package.json',
      '/docs/package.json',
      // express.static decodes these into package.json.
      '/docs/package%2ejson',
      '/docs/package%2Ejson',
      '/api/v1/../../package.json',
      '/api/v1/./wallet',
    ]) {
      const response = await rawRequest(api.url, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(response.status, 404, `${path}: ${response.raw}`);
      assert.equal(JSON.parse(response.body).error.code, 'not_found', path);
    }
    const badEscape = await api.request('GET', '/api/v1/bookings/%E0%A4%A', {
      token: sessions.student!.token,
    });
    assertErrorShape(badEscape, 400, 'validation_error');
  });

  it('when Node’s HTTP parser refuses a request (headers or URL too large, malformed), then the answer is in the error shape too', async () => {
    const huge = await api.request('GET', '/healthz', { headers: { 'X-Big': 'a'.repeat(20_000) } });
    assertErrorShape(huge, 431, 'headers_too_large');
    const longUrl = await api.request('GET', `/api/v1/nope?${'q'.repeat(20_000)}`);
    assertErrorShape(longUrl, 431, 'headers_too_large');
    for (const request of [
      'GARBAGE\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    ]) {
      const response = await rawRequest(api.url, request);
      assert.equal(response.status, 400, response.raw);
      assert.equal(JSON.parse(response.body).error.code, 'validation_error', response.raw);
    }
    const expect = await rawRequest(
      api.url,
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
    assert.equal(expect.status, 417, expect.raw);
    assert.equal(JSON.parse(expect.body).error.code, 'expectation_failed');
    // Still serving.
    assert.equal((await api.request('GET', '/healthz')).status, 200);
  });

  it('when text carries NUL or control characters, then 400 and nothing is created', async () => {
    const before = await snapshot(api);
    const valid = VALID_BODIES['post /api/v1/auth/register']!;
    for (const body of [
      { ...valid(), name: 'a\u0000b' },
      { ...valid(), referralCode: 'A\u0000B' },
      { ...valid(), password: 'long enough\u0007' },
    ]) {
      assertErrorShape(await api.request('POST', '/api/v1/auth/register', { body }), 400, 'validation_error');
    }
    const login = await api.request('POST', '/api/v1/auth/login', {
      body: { email: 'a\u0000b@x.example', password: 'x' },
    });
    assertErrorShape(login, 400, 'validation_error');
    assert.deepEqual(await snapshot(api), before);
  });

  it('when a query carries 1,500 unknown parameters, then 400 lists the first 20, each by its path, in a small body', async () => {
    const query = Array.from({ length: 1_500 }, (_, i) => `k${i}=1`).join('&');
    const response = await api.request('GET', `/api/v1/wallet/transactions?${query}`, {
      token: sessions.student!.token,
    });
    assertErrorShape(response, 400, 'validation_error');
    assert.equal(response.body.error.details.length, 20);
    assert.deepEqual(response.body.error.details[0], {
      path: 'query.k0',
      message: 'unknown parameter',
    });
    assert.match(response.body.error.message, /\d{4} problems; the first 20 are listed/);
    assert.ok(response.text.length < 3_000, `${response.text.length} bytes`);

    // A body's unknown fields are named the same way, and an absurdly long name is cut.
    const long = 'x'.repeat(5_000);
    const body = await api.request('POST', '/api/v1/auth/register', {
      body: { ...VALID_BODIES['post /api/v1/auth/register']!(), [long]: 1 },
    });
    assertErrorShape(body, 400, 'validation_error');
    assert.equal(body.body.error.details[0].message, 'unknown field');
    assert.ok(body.body.error.details[0].path.startsWith('body.xxx'));
    assert.ok(body.text.length < 1_000, `${body.text.length} bytes`);
  });

  it('when a referral code is refused, then the answer reads like any other field’s (message and body.path)', async () => {
    const valid = VALID_BODIES['post /api/v1/auth/register']!;
    const bySchema = await api.request('POST', '/api/v1/auth/register', {
      body: { ...valid(), referralCode: 'X'.repeat(40) },
    });
    const unknown = await api.request('POST', '/api/v1/auth/register', {
      body: { ...valid(), referralCode: 'NOSUCHCD' },
    });
    const byTeacher = await api.request('POST', '/api/v1/auth/register', {
      body: { ...valid(), role: 'teacher', referralCode: 'NOSUCHCD' },
    });
    for (const response of [bySchema, unknown, byTeacher]) {
      assertErrorShape(response, 400, 'validation_error');
      assert.equal(response.body.error.message, 'invalid body', response.text);
      assert.deepEqual(
        response.body.error.details.map((d: { path: string }) => d.path),
        ['body.referralCode'],
      );
    }
  });

  it('when a string holds a lone UTF-16 surrogate, then 400 names it and nothing is stored; a paired one is text', async () => {
    const before = await snapshot(api);
    const valid = VALID_BODIES['post /api/v1/auth/register']!;
    for (const [rawBody, path] of [
      [JSON.stringify({ ...valid(), name: 'x' }).replace('"name":"x"', '"name":"a\\ud800b"'), 'body.name'],
      [JSON.stringify({ ...valid(), name: 'x' }).replace('"name":"x"', '"name":"\\udfff"'), 'body.name'],
      [
        JSON.stringify({ ...valid(), name: 'x' }).replace('"name":"x"', '"name":"x","\\ud800":1'),
        'body.\ufffd',
      ],
    ] as const) {
      const response = await api.request('POST', '/api/v1/auth/register', {
        rawBody,
        headers: { 'Content-Type': 'application/json' },
      });
      assertErrorShape(response, 400, 'validation_error');
      assert.equal(response.body.error.details[0].path, path, response.text);
    }
    assert.deepEqual(await snapshot(api), before);

    // Nested thousands deep, the path is shown by its ends: the answer stays small.
    const deep = `${'['.repeat(5_000)}"\\ud800"${']'.repeat(5_000)}`;
    const nested = await api.request('POST', '/api/v1/auth/register', {
      rawBody: JSON.stringify({ ...valid(), name: 'x' }).replace('"name":"x"', `"name":"x","deep":${deep}`),
      headers: { 'Content-Type': 'application/json' },
    });
    assertErrorShape(nested, 400, 'validation_error');
    assert.ok(nested.text.length < 1_000, `${nested.text.length} bytes`);
    assert.match(nested.body.error.details[0].path, /^body\.deep\.0\.0.*….*\.0$/);

    const paired = await api.request('POST', '/api/v1/auth/register', {
      rawBody: JSON.stringify({ ...valid(), name: 'x' }).replace('"name":"x"', '"name":"Ada \\ud83d\\ude00"'),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(paired.status, 201, paired.text);
    assert.equal(paired.body.user.name, 'Ada \u{1f600}');
  });

  it('when a body claims a compression it does not have, then 400 (not 500) and nothing changes', async () => {
    const before = await snapshot(api);
    for (const encoding of ['gzip', 'deflate']) {
      for (const path of ['/api/v1/auth/register', '/api/v1/wallet/deposit']) {
        const response = await api.request('POST', path, {
          token: sessions.student!.token,
          rawBody: 'this is not compressed',
          headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        });
        assertErrorShape(response, 400, 'validation_error');
      }
    }
    assert.deepEqual(await snapshot(api), before);
  });
});
