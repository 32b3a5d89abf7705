// The API alone (docker-compose's `api` service; scale it out behind a load
// balancer); `npm start` runs everything in one process.
import { Connection } from '@temporalio/client';
import pino from 'pino';
import { openDatabase } from '../platform/database';
import { onShutdownSignal, settingsOrExit } from '../platform/settings';
import { requireTemporalAddress, temporalReadiness } from '../platform/temporal';
import { startApiServer } from './server';

async function main(): Promise<void> {
  const settings = settingsOrExit();
  const logger = pino({ level: settings.LOG_LEVEL });
  const temporalAddress = requireTemporalAddress(settings, 'the API');
  const database = await openDatabase(settings);
  const connection = await Connection.connect({ address: temporalAddress });
  const api = await startApiServer({
    settings,
    db: database.db,
    logger,
    readiness: [temporalReadiness(connection)],
  });
  logger.info({ port: api.port, database: database.origin, temporal: temporalAddress }, 'API listening');
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await api.close();
    await connection.close();
    await database.close();
  });
}

main().catch((error: unknown) => {
  console.error('API start failed:', error);
  process.exit(1);
});
