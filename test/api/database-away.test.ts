// The database out of reach is an outage, not a bug: 503 in the error shape,
// with Retry-After, whatever way it went (refused, shut down under a query,
// cut mid-query, no connection to be had), and 500 stays for the rest.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import express from 'express';
import knexFactory, { type Knex } from 'knex';
import pino from 'pino';
import { errorHandler } from '../../api/error-handler';
import { testDatabase } from '../support/db';

const APPLICATION_NAME = 'database-away test';

describe('the database out of reach', () => {
  let server: http.Server;
  let base: string;
  const clients: Knex[] = [];
  let run: () => Promise<unknown> = async () => undefined;

  before(async () => {
    const app = express();
    app.use((req, _res, next) => {
      (req as unknown as { log: pino.Logger }).log = pino({ level: 'silent' });
      next();
    });
    app.get('/work', (_req, res, next) => {
      run().then(() => res.json({ ok: true }), next);
    });
    app.use(errorHandler());
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.destroy()));
    await new Promise((resolve) => server?.close(resolve));
  });

  /** A knex of its own (never objection's, which other tests use), to `url`. */
  function knexTo(url: string, options: Partial<Knex.Config> = {}): Knex {
    const quiet = () => undefined; // knex logs each failed acquisition: these are meant to fail
    const client = knexFactory({
      client: 'pg',
      connection: url,
      pool: { min: 0, max: 1 },
      log: { error: quiet, warn: quiet, debug: quiet, deprecate: quiet },
      ...options,
    });
    clients.push(client);
    return client;
  }

  async function answerTo(work: () => Promise<unknown>) {
    run = work;
    const response = await fetch(`${base}/work`);
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as { error: { code: string } },
    };
  }

  function assertOutage(answer: Awaited<ReturnType<typeof answerTo>>) {
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.equal(answer.retryAfter, '5');
    assert.equal(answer.body.error.code, 'unavailable');
  }

  it('when nothing listens where the database should be, then 503', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const db = knexTo(`postgres://postgres@127.0.0.1:${port}/postgres`);
    assertOutage(await answerTo(() => db.raw('select 1')));
  });

  it('when the server ends the connection under a query (a shutdown), then 503', async () => {
    const { url, db: admin } = await testDatabase();
    const db = knexTo(
      `${url}${url.includes('?') ? '&' : '?'}application_name=${encodeURIComponent(APPLICATION_NAME)}`,
    );
    const answer = answerTo(() => db.raw('select pg_sleep(30)'));
    // Wait for the query to be running, then end its backend as a shutdown would.
    for (let i = 0; i < 200; i++) {
      const ended = await admin.raw<{ rows: unknown[] }>(
        `select pg_terminate_backend(pid) from pg_stat_activity where application_name = ? and query like 'select pg_sleep%'`,
        [APPLICATION_NAME],
      );
      if (ended.rows.length > 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assertOutage(await answer);
  });

  it('when the network cuts the connection mid-query, then 503', async () => {
    const { url } = await testDatabase();
    const target = new URL(url);
    const sockets = new Set<net.Socket>();
    let querySent!: () => void;
    const sent = new Promise<void>((resolve) => (querySent = resolve));
    const proxy = net.createServer((socket) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      sockets.add(socket).add(upstream);
      socket.on('data', (chunk: Buffer) => {
        if (chunk.includes('pg_sleep')) querySent();
      });
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const via = new URL(url);
    via.hostname = '127.0.0.1';
    via.port = String((proxy.address() as net.AddressInfo).port);
    const db = knexTo(via.toString());
    await db.raw('select 1');
    const answer = answerTo(() => db.raw('select pg_sleep(30)'));
    await sent;
    for (const socket of sockets) socket.destroy();
    proxy.close();
    assertOutage(await answer);
  });

  it('when no connection can be had in time, then 503', async () => {
    const { url } = await testDatabase();
    const db = knexTo(url, { acquireConnectionTimeout: 50 });
    const held = await db.transaction(); // the pool's one connection
    assertOutage(await answerTo(() => db.raw('select 1')));
    await held.rollback();
  });

  it('when anything else fails, then 500, as before', async () => {
    const answer = await answerTo(async () => {
      throw new Error('a bug');
    });
    assert.equal(answer.status, 500);
    assert.equal(answer.body.error.code, 'internal');
  });
});
