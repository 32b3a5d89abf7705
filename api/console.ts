// Serves the web console (console/app, bundled by console/build.ts) at
// /console: one HTML page for every /console path (the browser routes), the
// hashed assets it links, and the few facts of this deployment the page needs.
// The page's Content-Security-Policy allows scripts and styles from this
// origin only (no inline script, no eval) and connections to it and to the
// LiveKit server.
import express from 'express';
import { consoleBundle, type ConsoleBundle } from '../console/build';
import { MethodNotAllowedError, NotFoundError } from './errors';

export const CONSOLE_PATH = '/console';

/** What the page needs to know of this deployment (GET /console/config.json). */
export interface ConsoleConfig {
  currency: string;
  /** POST /wallet/deposit is on (development and tests). */
  testDeposits: boolean;
  /** Stripe Checkout top-ups are configured. */
  topups: boolean;
}

/**
 * The page's policy. Besides this origin, the page connects to the LiveKit
 * server only (the class room's signalling WebSocket, and its HTTP twin that
 * livekit-client asks why a connection was refused); camera and microphone
 * tracks play through `srcObject`, which no directive governs.
 */
export function consoleCsp(livekitUrl: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${liveKitOrigins(livekitUrl).join(' ')}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** LiveKit Cloud's domains: its client fails a project's connection over to region hosts under them. */
const LIVEKIT_CLOUD = /\.(livekit\.cloud|livekit\.run)$/;

/**
 * A LiveKit URL's origin under both schemes livekit-client uses (ws/wss and
 * http/https); for LiveKit Cloud, every host of its domain.
 */
export function liveKitOrigins(livekitUrl: string): string[] {
  const url = new URL(livekitUrl);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const cloud = LIVEKIT_CLOUD.exec(url.hostname);
  const hosts = cloud === null ? [url.host] : [url.host, `*.${cloud[1]}`];
  return hosts.flatMap((host) => [
    `${secure ? 'wss' : 'ws'}://${host}`,
    `${secure ? 'https' : 'http'}://${host}`,
  ]);
}

const ASSET_NAME = /^[\w-]+(\.(js|css|map|LEGAL|txt))+$/;

export function consoleRouter(config: ConsoleConfig, options: { livekitUrl: string }): express.Router {
  const router = express.Router({ strict: false });
  const csp = consoleCsp(options.livekitUrl);
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next(new MethodNotAllowedError(req.method, 'GET, HEAD'));
      return;
    }
    res.setHeader('Content-Security-Policy', csp);
    next();
  });
  router.get('/config.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(config);
  });
  router.get('/assets/:name', async (req, res, next) => {
    try {
      const name = req.params.name;
      const asset = ASSET_NAME.test(name) ? (await consoleBundle()).assets.get(name) : undefined;
      if (asset === undefined) throw new NotFoundError('route');
      // Names carry their content's hash: a new build is a new name.
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.type(asset.contentType).send(asset.body);
    } catch (error) {
      next(error);
    }
  });
  router.get('/{*rest}', async (_req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      res.type('html').send(page(await consoleBundle()));
    } catch (error) {
      next(error);
    }
  });
  return router;
}

/** The one page; its only variable parts are the bundle's own file names. */
function page(bundle: ConsoleBundle): string {
  for (const name of [bundle.script, bundle.stylesheet]) {
    if (!ASSET_NAME.test(name)) throw new Error(`unexpected console asset name ${name}`);
  }
  return `<!doctype html>
<html lang="en" data-theme="light">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Class marketplace</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="${CONSOLE_PATH}/assets/${bundle.stylesheet}">
    <script type="module" src="${CONSOLE_PATH}/assets/${bundle.script}"></script>
  </head>
  <body>
    <div id="root"></div>
    <noscript>The console needs JavaScript.</noscript>
  </body>
</html>
`;
}
