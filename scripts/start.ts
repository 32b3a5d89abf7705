// npm start: the whole product in one process, on a machine with only Node.js.
// Without DATABASE_URL an embedded PostgreSQL is started, without
// TEMPORAL_ADDRESS the project's Temporal dev server (state in DATA_DIR).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { startApiServer } from '../api/server';
import { openDatabase } from '../platform/database';
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { settingsOrExit } from '../platform/settings';
import { provideTemporal, temporalReadiness } from '../platform/temporal';
import { installTemporalRuntime } from '../workers/logger';
import { ensureMaintenanceWorkflow } from '../workers/maintenance';
import { startWorker } from '../workers/worker';

const settings = settingsOrExit();
const logger = pino({ level: settings.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();

void startOrExit(lifecycle, 'start', async () => {
  installTemporalRuntime(logger);
  const database = await openDatabase(settings);
  lifecycle.add('database', database.close);
  const temporal = await provideTemporal(settings);
  lifecycle.add('temporal', temporal.close);
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  lifecycle.add('worker connection', () => nativeConnection.close());
  const worker = await startWorker({
    settings,
    db: database.db,
    logger,
    connection: nativeConnection,
    onFailure: (error) => {
      logger.error({ err: error }, 'worker failed');
      lifecycle.exit(1, 'worker failed');
    },
  });
  lifecycle.add('worker', worker.stop);
  const clientConnection = await Connection.connect({ address: temporal.address });
  lifecycle.add('client connection', () => clientConnection.close());
  await ensureMaintenanceWorkflow(
    new Client({ connection: clientConnection, namespace: settings.TEMPORAL_NAMESPACE }),
    settings,
  );
  const api = await startApiServer({
    settings,
    db: database.db,
    logger,
    readiness: [temporalReadiness(clientConnection)],
  });
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
