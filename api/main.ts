// The API alone (docker-compose's `api` service); `npm start` runs everything.
import pino from 'pino';
import { openDatabase } from '../platform/database';
import { onShutdownSignal, settingsOrExit } from '../platform/settings';
import { startApiServer } from './server';

async function main(): Promise<void> {
  const settings = settingsOrExit();
  const logger = pino({ level: settings.LOG_LEVEL });
  const database = await openDatabase(settings);
  const api = await startApiServer({ settings, db: database.db, logger });
  logger.info({ port: api.port, database: database.origin }, 'API listening');
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await api.close();
    await database.close();
  });
}

main().catch((error: unknown) => {
  console.error('API start failed:', error);
  process.exit(1);
});
