// npm start: the whole product in one process, on a machine with only Node.js.
// Without DATABASE_URL an embedded PostgreSQL is started, without
// TEMPORAL_ADDRESS the project's Temporal dev server (state in DATA_DIR).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { startApiServer } from '../api/server';
import { openDatabase } from '../platform/database';
import { onShutdownSignal, settingsOrExit } from '../platform/settings';
import { provideTemporal, temporalReadiness } from '../platform/temporal';
import { installTemporalRuntime } from '../workers/logger';
import { ensureMaintenanceWorkflow } from '../workers/maintenance';
import { startWorker } from '../workers/worker';

async function main(): Promise<void> {
  const settings = settingsOrExit();
  const logger = pino({ level: settings.LOG_LEVEL });
  installTemporalRuntime(logger);

  const database = await openDatabase(settings);
  const temporal = await provideTemporal(settings);
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker = await startWorker({ settings, db: database.db, logger, connection: nativeConnection });
  const clientConnection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection: clientConnection, namespace: settings.TEMPORAL_NAMESPACE });
  await ensureMaintenanceWorkflow(client, settings);
  const api = await startApiServer({
    settings,
    db: database.db,
    logger,
    readiness: [temporalReadiness(clientConnection)],
  });

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

  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await api.close();
    await worker.stop();
    await clientConnection.close();
    await nativeConnection.close();
    await temporal.close();
    await database.close();
    logger.info('stopped');
  });
}

main().catch((error: unknown) => {
  console.error('start failed:', error);
  process.exit(1);
});
