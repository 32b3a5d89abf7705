// Listening and graceful shutdown: on close, stop accepting, let requests in
// flight finish (up to a timeout), then cut the remaining connections.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';

export interface HttpServer {
  server: http.Server;
  port: number;
  /** The port of the metrics listener, when the app has one (METRICS_PORT). */
  metricsPort?: number;
  close(timeoutMs: number): Promise<void>;
}

/** Set by createApp in `app.locals.metricsListener` when METRICS_PORT is set. */
export interface MetricsListener {
  host: string;
  port: number;
  app: Express;
}

/**
 * Serves `app` on `port`, on `host` or else the address the app was built for
 * (`app.locals.listenHost`, HOST) or else loopback; and its metrics on their
 * own listener when it has one.
 */
export async function listen(app: Express, port: number, host?: string): Promise<HttpServer> {
  const api = await serve(app, port, host ?? (app.locals.listenHost as string | undefined) ?? '127.0.0.1');
  const metrics = app.locals.metricsListener as MetricsListener | undefined;
  if (metrics === undefined) return api;
  const scraped = await serve(metrics.app, metrics.port, metrics.host).catch(async (error: unknown) => {
    await api.close(0);
    throw error;
  });
  return {
    ...api,
    metricsPort: scraped.port,
    close: async (timeoutMs) => {
      await Promise.all([api.close(timeoutMs), scraped.close(timeoutMs)]);
    },
  };
}

function serve(app: Express, port: number, host: string): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    answerParserRefusals(server);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: (timeoutMs) => close(server, timeoutMs),
      });
    });
  });
}

/**
 * What Node's HTTP parser refuses never reaches Express: Node would answer a
 * bare 400 or 431 itself. These answers are written here instead, in the
 * API's error shape (without a request id: there is no request yet). An
 * `Expect` other than 100-continue, which Node answers 417, is answered the same way.
 */
function answerParserRefusals(server: http.Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    // A reset connection, or one already carrying an answer: nothing may be written to it.
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request line and headers exceed 16 KB']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request_timeout', 'the request was not received in time']
          : [400, 'validation_error', 'malformed HTTP request'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
  server.on('checkExpectation', (req, res) => {
    const body = JSON.stringify({
      error: { code: 'expectation_failed', message: `unsupported Expect: ${req.headers.expect ?? ''}` },
    });
    res.shouldKeepAlive = false; // the body the client may still send is not read
    res.writeHead(417, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  });
}

function close(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    // Keep-alive connections with no request in flight would hold close() open.
    server.closeIdleConnections();
  });
}
