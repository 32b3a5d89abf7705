// The API alone (docker-compose's `api` service; scale it out behind a load
// balancer); `npm start` runs everything in one process.
import { keepDataEncryptionKey, keepJwtSecret } from '../platform/jwt-secret';
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { appLogger } from '../platform/logger';
import { buildPlatform } from '../platform/platform';
import { settingsOrExit } from '../platform/settings';
import { requireTemporalAddress, temporalReadiness } from '../platform/temporal';
import { startApiServer } from './server';

// Production requires JWT_SECRET and DATA_ENCRYPTION_KEY; in development the API alone keeps
// them in DATA_DIR as npm start does.
const { settings: withSecret, source: jwtSecretSource } = keepJwtSecret(settingsOrExit());
const { settings, source: dataKeySource } = keepDataEncryptionKey(withSecret);
const logger = appLogger(settings);
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();
const temporalAddress = requireTemporalAddress(settings, 'the API');

void startOrExit(lifecycle, 'API start', async () => {
  const platform = await buildPlatform({ settings, logger, lifecycle, temporalAddress });
  const api = await startApiServer(platform, [temporalReadiness(platform.temporal.connection)]);
  lifecycle.add('api', api.close);
  logger.info(
    {
      host: settings.HOST,
      port: api.port,
      metrics:
        settings.METRICS_PORT === undefined ? undefined : `${settings.METRICS_HOST}:${settings.METRICS_PORT}`,
      database: platform.databaseOrigin,
      temporal: temporalAddress,
      jwtSecret: jwtSecretSource,
      dataEncryptionKey: dataKeySource,
    },
    'API listening',
  );
});
