// npm start: the whole product in one process, on a machine with only Node.js.
// Without DATABASE_URL an embedded PostgreSQL is started, without
// TEMPORAL_ADDRESS the project's Temporal dev server (state in DATA_DIR).
import pino from 'pino';
import { startApiServer } from '../api/server';
import { lockDataDir } from '../platform/data-dir-lock';
import { openDatabase } from '../platform/database';
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { buildPlatform } from '../platform/platform';
import { settingsOrExit } from '../platform/settings';
import { provideTemporal, temporalReadiness } from '../platform/temporal';
import { installTemporalRuntime } from '../workers/logger';
import { startWorkerSide } from '../workers/worker';

const settings = settingsOrExit();
const logger = pino({ level: settings.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();

void startOrExit(lifecycle, 'start', async () => {
  installTemporalRuntime(logger);
  const unlock = lockDataDir(settings.DATA_DIR);
  lifecycle.add('data dir lock', async () => unlock());
  const database = await openDatabase(settings);
  lifecycle.add('database', database.close);
  const temporal = await provideTemporal(settings);
  lifecycle.add('temporal', temporal.close);
  const platform = await buildPlatform({
    settings,
    logger,
    lifecycle,
    temporalAddress: temporal.address,
    database,
  });
  await startWorkerSide(platform, lifecycle, temporal.address);
  const api = await startApiServer(platform, [temporalReadiness(platform.temporal.connection)]);
  lifecycle.add('api', api.close);

  const base = `http://localhost:${api.port}`;
  console.log(
    [
      '',
      `  Class marketplace is running (${settings.NODE_ENV})`,
      `  API        ${base}/api/v1`,
      `  API docs   ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  Health     ${base}/healthz   ${base}/readyz   ${base}/metrics`,
      `  Database   ${database.origin}`,
      `  Temporal   ${temporal.origin}, task queue ${settings.TEMPORAL_TASK_QUEUE}`,
      ...(temporal.inspectorUrl === undefined
        ? []
        : [`  Workflows  ${temporal.inspectorUrl}   (dev server inspector)`]),
      ...(api.adminCreated ? [`  Admin      created ${settings.ADMIN_EMAIL}`] : []),
      '',
    ].join('\n'),
  );
});
