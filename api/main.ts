// The API alone (docker-compose's `api` service; scale it out behind a load
// balancer); `npm start` runs everything in one process.
import { Connection } from '@temporalio/client';
import pino from 'pino';
import { openDatabase } from '../platform/database';
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { settingsOrExit } from '../platform/settings';
import { requireTemporalAddress, temporalReadiness } from '../platform/temporal';
import { startApiServer } from './server';

const settings = settingsOrExit();
const logger = pino({ level: settings.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();
const temporalAddress = requireTemporalAddress(settings, 'the API');

void startOrExit(lifecycle, 'API start', async () => {
  const database = await openDatabase(settings);
  lifecycle.add('database', database.close);
  const connection = await Connection.connect({ address: temporalAddress });
  lifecycle.add('temporal connection', () => connection.close());
  const api = await startApiServer({
    settings,
    db: database.db,
    logger,
    readiness: [temporalReadiness(connection)],
  });
  lifecycle.add('api', api.close);
  logger.info({ port: api.port, database: database.origin, temporal: temporalAddress }, 'API listening');
});
