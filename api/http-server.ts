// Listening and graceful shutdown: on close, stop accepting, let requests in
// flight finish (up to a timeout), then cut the remaining connections.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface HttpServer {
  server: http.Server;
  port: number;
  close(timeoutMs: number): Promise<void>;
}

export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
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
