// npm start: the whole product in one process, on a machine with only Node.js.
// Without DATABASE_URL an embedded PostgreSQL is started, without
// TEMPORAL_ADDRESS the project's Temporal dev server (state in DATA_DIR).
// Its ports are checked first, and each stage says what it is doing, so a
// slow first start (initdb) does not look hung.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startApiServer } from '../api/server';
import { lockDataDir } from '../platform/data-dir-lock';
import { openDatabase } from '../platform/database';
import { portsOfStart, takenPorts } from '../platform/free-ports';
import { keepDataEncryptionKey, keepDevAdmin, keepJwtSecret } from '../platform/jwt-secret';
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { appLogger } from '../platform/logger';
import { startMailCatcher, type MailCatcher } from '../platform/mail-catcher';
import { buildPlatform, DEFAULT_LIVEKIT_CLIENT_URL } from '../platform/platform';
import { settingsOrExit } from '../platform/settings';
import { provideTemporal, temporalReadiness } from '../platform/temporal';
import { installTemporalRuntime } from '../workers/logger';
import { startWorkerSide } from '../workers/worker';

const configured = settingsOrExit();
const logger = appLogger(configured);
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();

/** One line per stage of the start (on stdout, beside the banner). */
function stage(name: string, doing: string): void {
  console.log(`  … ${name.padEnd(10)} ${doing}`);
}

/** How a browser on this machine reaches an address the service listens on. */
function reachableAt(host: string, port: number): string {
  const local = ['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::'].includes(host);
  return `http://${local ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`;
}

void startOrExit(lifecycle, 'start', async () => {
  installTemporalRuntime(logger);
  const unlock = lockDataDir(configured.DATA_DIR);
  lifecycle.add('data dir lock', async () => unlock());

  // Before anything slow: a taken port is named with the setting that moves it.
  const taken = await takenPorts(portsOfStart(configured));
  if (taken.length > 0) {
    console.error(
      `cannot start: ${taken.length === 1 ? 'a port is' : 'ports are'} taken\n  - ${taken.join('\n  - ')}`,
    );
    await lifecycle.stopAll();
    process.exit(1);
  }
  const secret = keepJwtSecret(configured);
  const dataKey = keepDataEncryptionKey(secret.settings);
  const devAdmin = keepDevAdmin(dataKey.settings);
  let settings = devAdmin.settings;

  stage(
    'database',
    settings.DATABASE_URL === undefined
      ? fs.existsSync(path.join(settings.DATA_DIR, 'pg', 'PG_VERSION'))
        ? `starting the embedded PostgreSQL 15 on 127.0.0.1:${settings.EMBEDDED_PG_PORT} (data in ${settings.DATA_DIR}/pg)`
        : `starting the embedded PostgreSQL 15 on 127.0.0.1:${settings.EMBEDDED_PG_PORT} (a first start creates it in ${settings.DATA_DIR}/pg: up to a minute)`
      : 'connecting to DATABASE_URL',
  );
  const database = await openDatabase(settings);
  lifecycle.add('database', database.close);
  stage(
    'migrations',
    database.migrationsApplied.length === 0
      ? 'the schema is up to date'
      : `${database.migrationsApplied.length} applied, the schema is up to date`,
  );

  // Without an SMTP server email still goes out over SMTP, to a local catcher with an inbox.
  let mailCatcher: MailCatcher | undefined;
  if (settings.SMTP_URL === undefined) {
    stage(
      'mail',
      `starting the local mail catcher: SMTP on 127.0.0.1:${settings.MAIL_CATCHER_SMTP_PORT}, inbox on port ${settings.MAIL_CATCHER_WEB_PORT}`,
    );
    mailCatcher = await startMailCatcher({
      smtpPort: settings.MAIL_CATCHER_SMTP_PORT,
      webPort: settings.MAIL_CATCHER_WEB_PORT,
      dataDir: settings.DATA_DIR,
    });
    const catcher = mailCatcher;
    lifecycle.add('mail catcher', () => catcher.close());
    settings = { ...settings, SMTP_URL: mailCatcher.smtpUrl };
  }

  stage(
    'Temporal',
    settings.TEMPORAL_ADDRESS === undefined
      ? `starting the dev server on 127.0.0.1:${settings.DEVSERVER_PORT} (state in ${settings.DATA_DIR}/temporal.db)`
      : `connecting to ${settings.TEMPORAL_ADDRESS}`,
  );
  const temporal = await provideTemporal(settings);
  lifecycle.add('temporal', temporal.close);
  const platform = await buildPlatform({
    settings,
    logger,
    lifecycle,
    temporalAddress: temporal.address,
    database,
    inspectorUrl: temporal.inspectorUrl,
  });
  stage('worker', `starting on task queue ${settings.TEMPORAL_TASK_QUEUE}`);
  await startWorkerSide(platform, lifecycle, temporal.address);
  stage('API', `starting on ${settings.HOST}:${settings.PORT}`);
  const api = await startApiServer(platform, [temporalReadiness(platform.temporal.connection)]);
  lifecycle.add('api', api.close);

  const base = `${reachableAt(settings.HOST, api.port)}`;
  const metrics = [
    ...(settings.METRICS_PORT === undefined
      ? []
      : [`${reachableAt(settings.METRICS_HOST, settings.METRICS_PORT)}/metrics`]),
    ...(settings.METRICS_TOKEN === undefined ? [] : [`${base}/metrics (bearer METRICS_TOKEN)`]),
  ];
  console.log(
    [
      '',
      `  Class marketplace is running (${settings.NODE_ENV})`,
      `  Console    ${base}/console   (students, teachers and admins, in a browser)`,
      `  API        ${base}/api/v1${['0.0.0.0', '::'].includes(settings.HOST) ? '   (every interface: HOST)' : '   (this machine only: set HOST to open it)'}`,
      `  API docs   ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  Health     ${base}/healthz   ${base}/readyz`,
      `  Metrics    ${metrics.length === 0 ? 'not served (set METRICS_PORT or METRICS_TOKEN)' : metrics.join('   ')}`,
      `  Database   ${database.origin}`,
      `  Temporal   ${temporal.origin}, task queue ${settings.TEMPORAL_TASK_QUEUE}`,
      ...(temporal.inspectorUrl === undefined
        ? []
        : [`  Workflows  ${temporal.inspectorUrl}   (dev server inspector)`]),
      `  LiveKit    ${settings.LIVEKIT_URL ?? `${DEFAULT_LIVEKIT_CLIENT_URL}   (LIVEKIT_URL unset: class rooms join there; npm start runs no LiveKit, start \`livekit-server --dev\`)`}`,
      `  Email      ${mailCatcher === undefined ? 'through SMTP_URL' : `local inbox ${mailCatcher.inboxUrl}   (SMTP_URL unset: nothing leaves this machine)`}`,
      `  Tokens     signed with the JWT secret ${secret.source === 'JWT_SECRET' ? 'from JWT_SECRET' : secret.source}`,
      `  Payments   ${settings.STRIPE_SECRET_KEY === undefined ? 'Stripe top-ups off (STRIPE_SECRET_KEY unset)' : `Stripe top-ups on${settings.STRIPE_API_URL === undefined ? '' : ` at ${settings.STRIPE_API_URL}`}`}; withdrawals paid ${settings.PAYOUT_PROVIDER === 'manual' ? 'by hand (PAYOUT_PROVIDER=manual)' : 'through Stripe Connect'}`,
      `  Bank data  sealed with the key ${dataKey.source === 'DATA_ENCRYPTION_KEY' ? 'from DATA_ENCRYPTION_KEY' : dataKey.source}`,
      ...(devAdmin.passwordFile !== undefined
        ? [
            `  Admin      ${settings.ADMIN_EMAIL}, password in ${devAdmin.passwordFile}   (development; set ADMIN_EMAIL and ADMIN_PASSWORD for your own)`,
          ]
        : api.adminCreated
          ? [`  Admin      created ${settings.ADMIN_EMAIL}`]
          : []),
      '',
    ].join('\n'),
  );
});
