// The API alone (docker-compose's `api` service; scale it out behind a load
// balancer); `npm start` runs everything in one process.
import pino from 'pino';
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { buildPlatform } from '../platform/platform';
import { settingsOrExit } from '../platform/settings';
import { requireTemporalAddress, temporalReadiness } from '../platform/temporal';
import { startApiServer } from './server';

const settings = settingsOrExit();
const logger = pino({ level: settings.LOG_LEVEL });
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();
const temporalAddress = requireTemporalAddress(settings, 'the API');

void startOrExit(lifecycle, 'API start', async () => {
  const platform = await buildPlatform({ settings, logger, lifecycle, temporalAddress });
  const api = await startApiServer(platform, [temporalReadiness(platform.temporal.connection)]);
  lifecycle.add('api', api.close);
  logger.info(
    { port: api.port, database: platform.databaseOrigin, temporal: temporalAddress },
    'API listening',
  );
});
