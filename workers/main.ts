// The worker alone (docker-compose's `worker` service; scale it out freely);
// `npm start` runs everything in one process.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { openDatabase } from '../platform/database';
import { onShutdownSignal, settingsOrExit } from '../platform/settings';
import { requireTemporalAddress } from '../platform/temporal';
import { installTemporalRuntime } from './logger';
import { ensureMaintenanceWorkflow } from './maintenance';
import { startWorker } from './worker';

async function main(): Promise<void> {
  const settings = settingsOrExit();
  const logger = pino({ level: settings.LOG_LEVEL });
  installTemporalRuntime(logger);
  const temporalAddress = requireTemporalAddress(settings, 'the worker');
  const database = await openDatabase(settings);
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await startWorker({ settings, db: database.db, logger, connection: nativeConnection });
  const clientConnection = await Connection.connect({ address: temporalAddress });
  await ensureMaintenanceWorkflow(
    new Client({ connection: clientConnection, namespace: settings.TEMPORAL_NAMESPACE }),
    settings,
  );
  logger.info({ temporal: temporalAddress, taskQueue: settings.TEMPORAL_TASK_QUEUE }, 'worker running');

  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await worker.stop();
    await clientConnection.close();
    await nativeConnection.close();
    await database.close();
  });
}

main().catch((error: unknown) => {
  console.error('worker start failed:', error);
  process.exit(1);
});
