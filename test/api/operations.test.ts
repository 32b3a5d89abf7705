import assert from 'node:assert/strict';
import http from 'node:http';
import pino from 'pino';
import { loadSettings } from '../../config/settings';
import { register, startTestApi, testApi, type TestApi } from '../support/api';
import { freePort } from '../support/db';

describe('operational endpoints', () => {
  let api: TestApi;
  before(async () => {
    api = await testApi();
  });

  it('when /healthz is asked, then the process answers ok', async () => {
    const response = await api.request('GET', '/healthz');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'ok' });
  });

  it('when /readyz is asked and the database answers, then it is ready and says so per dependency', async () => {
    const response = await api.request('GET', '/readyz');
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'ready');
    assert.equal(response.body.checks.database, 'ok');
  });

  it('when no metrics setting is made, then /metrics is not served on the API port (anyone may reach it)', async () => {
    const response = await api.request('GET', '/metrics');
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, 'not_found');
  });

  it('when METRICS_TOKEN is set, then /metrics on the API port answers only that bearer token, with request durations in Prometheus format', async () => {
    const token = 'scrape-token-0123456789';
    const scraped = await startTestApi({ METRICS_TOKEN: token });
    await scraped.request('GET', '/api/v1/wallet');
    for (const authorization of [
      undefined,
      'Bearer wrong-token-0123456789',
      `Basic ${token}`,
      `Bearer ${token}x`,
    ]) {
      const refused = await scraped.request('GET', '/metrics', { headers: { Authorization: authorization } });
      assert.equal(refused.status, 401, String(authorization));
      assert.equal(refused.body.error.code, 'unauthorized');
      assert.doesNotMatch(refused.text, /process_cpu_seconds_total/);
    }
    const response = await scraped.request('GET', '/metrics', {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200);
    assert.match(
      response.text,
      /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/wallet",status="401"\} \d+/,
    );
    assert.match(response.text, /process_cpu_seconds_total/);
    await scraped.close();
  });

  it('when METRICS_PORT is set, then metrics are served there, on loopback by default, and on that port only they', async () => {
    const metricsPort = await freePort();
    const scraped = await startTestApi({ METRICS_PORT: String(metricsPort) });
    await scraped.request('GET', '/api/v1/wallet');
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(response.status, 200);
    assert.match(
      await response.text(),
      /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/wallet"/,
    );
    assert.equal((await scraped.request('GET', '/metrics')).status, 404, 'not on the API port');
    const other = await fetch(`http://127.0.0.1:${metricsPort}/api/v1/wallet`);
    assert.equal(other.status, 404);
    // Bound to 127.0.0.1 itself: another loopback address of this machine is refused.
    await assert.rejects(fetch(`http://127.0.0.2:${metricsPort}/metrics`));
    // Another name for it (a DNS-rebinding page's) is refused: only loopback names are answered.
    const rebound = await rawRequest(metricsPort, 'attacker.example');
    assert.equal(rebound.status, 403);
    assert.equal((await rawRequest(metricsPort, `localhost:${metricsPort}`)).status, 200);
    await scraped.close();
    await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/metrics`), 'closed with the API');
  });

  it('when METRICS_HOST is not loopback and no METRICS_TOKEN is set, then the settings are refused', () => {
    assert.throws(
      () => loadSettings({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }),
      /METRICS_TOKEN: required when METRICS_HOST is not a loopback address/,
    );
    assert.equal(
      loadSettings({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0', METRICS_TOKEN: 't'.repeat(16) })
        .METRICS_HOST,
      '0.0.0.0',
    );
  });

  it('when /openapi.json is asked, then it documents every route with its schemas and the bearer scheme', async () => {
    const document = (await api.request('GET', '/openapi.json')).body;
    assert.equal(document.openapi, '3.1.0');
    assert.ok(document.components.securitySchemes.bearerAuth);
    const deposit = document.paths['/api/v1/wallet/deposit'].post;
    const schema = deposit.requestBody.content['application/json'].schema;
    assert.deepEqual(
      Object.keys(schema.properties ?? document.components.schemas.DepositRequest.properties).sort(),
      ['amount', 'userId'],
    );
    assert.ok(deposit.responses['201'] && deposit.responses['422'] && deposit.responses['401']);
    assert.ok(
      document.paths['/api/v1/wallet/transactions'].get.parameters.some((p: any) => p.name === 'cursor'),
    );
  });

  it('when /openapi.json is read, then every route lists every status it can answer, 413 and 429 included, and /healthz and /readyz are documented', async () => {
    const document = (await api.request('GET', '/openapi.json')).body;
    let operations = 0;
    for (const [path, methods] of Object.entries<any>(document.paths)) {
      if (!path.startsWith('/api/v1/') || path.startsWith('/api/v1/webhooks/')) continue;
      for (const [method, operation] of Object.entries<any>(methods)) {
        operations++;
        const statuses = Object.keys(operation.responses);
        const expected = ['400', '413', '500'];
        if (operation.security !== undefined) expected.push('401', '403');
        if (path.startsWith('/api/v1/auth/')) expected.push('429');
        for (const status of expected) {
          assert.ok(statuses.includes(status), `${method} ${path} lists ${status}: ${statuses.join(',')}`);
          assert.equal(
            operation.responses[status].content['application/json'].schema.$ref,
            '#/components/schemas/Error',
          );
        }
      }
    }
    assert.ok(operations > 10);
    assert.ok(document.paths['/healthz'].get.responses['200']);
    assert.ok(document.paths['/readyz'].get.responses['200']);
    assert.ok(document.paths['/readyz'].get.responses['503']);
  });

  it('when Swagger UI builds the deposit example, then it carries no userId (a student would get 403)', async () => {
    const document = (await api.request('GET', '/openapi.json')).body;
    const example = document.components.schemas.DepositRequest.example;
    assert.deepEqual(example, { amount: 2500 });
  });

  it('when /docs is opened, then Swagger UI is served', async () => {
    const response = await api.request('GET', '/docs/');
    assert.equal(response.status, 200);
    assert.match(response.text, /swagger-ui/i);
  });

  it('when a request carries X-Request-Id, then the answer echoes it; otherwise one is made up', async () => {
    const given = await api.request('GET', '/healthz', { headers: { 'X-Request-Id': 'trace-123' } });
    assert.equal(given.headers.get('x-request-id'), 'trace-123');
    const made = await api.request('GET', '/healthz');
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('when any answer is sent, then helmet’s security headers are on it', async () => {
    const response = await api.request('GET', '/api/v1/wallet');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(response.headers.get('content-security-policy'));
    assert.equal(response.headers.get('x-powered-by'), null);
  });

  it('when a request is served, then the log has one compact line for it (method, path, status, duration, request id, user id) and no headers', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const logged = await startTestApi({}, { logger });
    const student = await register(logged, 'student');
    await logged.request('GET', '/api/v1/wallet/transactions?limit=5', {
      token: student.token,
      headers: { 'X-Request-Id': 'req-42' },
    });
    await logged.close();

    const mine = lines.filter((l) => l.includes('req-42')).map((l) => JSON.parse(l));
    assert.equal(mine.length, 1, lines.join(''));
    const [line] = mine;
    assert.deepEqual(
      Object.keys(line).sort(),
      [
        'durationMs',
        'level',
        'method',
        'msg',
        'path',
        'pid',
        'hostname',
        'reqId',
        'status',
        'time',
        'userId',
      ].sort(),
    );
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/api/v1/wallet/transactions');
    assert.equal(line.status, 200);
    assert.equal(line.userId, student.user.id);
    assert.equal(typeof line.durationMs, 'number');
    assert.ok(!lines.some((l) => l.includes(student.token)), 'no line holds the token');
    assert.ok(!lines.some((l) => l.includes('"headers"')), 'no headers at info');
  });

  it('when a request is answered 503 on purpose (top-ups not configured), then its line is a warning, not an error', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const logged = await startTestApi({}, { logger });
    const student = await register(logged, 'student');
    const refused = await logged.request('POST', '/api/v1/wallet/topups', {
      token: student.token,
      body: { amount: 1_000 },
      headers: { 'X-Request-Id': 'req-503' },
    });
    await logged.close();
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body.error.code, 'topups_unavailable');
    const mine = lines.filter((l) => l.includes('req-503')).map((l) => JSON.parse(l));
    assert.equal(mine.length, 1, lines.join(''));
    assert.equal(mine[0].level, 40);
    assert.equal(mine[0].status, 503);
  });

  it('when the log level is debug, then the whole request and response are logged too, the bearer token redacted', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const logged = await startTestApi({}, { logger });
    const student = await register(logged, 'student');
    await logged.request('GET', '/api/v1/wallet', {
      token: student.token,
      headers: { 'X-Request-Id': 'req-43' },
    });
    await logged.close();

    const full = lines.find((l) => l.includes('req-43') && l.includes('"headers"'));
    assert.ok(full, 'the full request is logged at debug');
    assert.match(full, /"authorization":"\[Redacted\]"/);
    assert.ok(!lines.some((l) => l.includes(student.token)), 'no line holds the token');
  });
});

/** GET /metrics on the metrics port with this Host header (fetch would not send another). */
function rawRequest(port: number, host: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: '/metrics', headers: { Host: host } },
      (response) => {
        response.resume();
        resolve({ status: response.statusCode ?? 0 });
      },
    );
    request.on('error', reject);
    request.end();
  });
}
