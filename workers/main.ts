// The worker alone (docker-compose's `worker` service; scale it out freely);
// `npm start` runs everything in one process.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { openDatabase } from '../platform/database';
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { settingsOrExit } from '../platform/settings';
import { requireTemporalAddress } from '../platform/temporal';
import { installTemporalRuntime } from './logger';
import { ensureMaintenanceWorkflow } from './maintenance';
import { startWorker } from './worker';

const settings = settingsOrExit();
const logger = pino({ level: settings.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();
const temporalAddress = requireTemporalAddress(settings, 'the worker');

void startOrExit(lifecycle, 'worker start', async () => {
  installTemporalRuntime(logger);
  const database = await openDatabase(settings);
  lifecycle.add('database', database.close);
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
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
  const clientConnection = await Connection.connect({ address: temporalAddress });
  lifecycle.add('client connection', () => clientConnection.close());
  await ensureMaintenanceWorkflow(
    new Client({ connection: clientConnection, namespace: settings.TEMPORAL_NAMESPACE }),
    settings,
  );
  logger.info({ temporal: temporalAddress, taskQueue: settings.TEMPORAL_TASK_QUEUE }, 'worker running');
});
