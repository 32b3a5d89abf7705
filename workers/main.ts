// The worker alone (docker-compose's `worker` service; scale it out freely);
// `npm start` runs everything in one process.
import { Lifecycle, startOrExit } from '../platform/lifecycle';
import { appLogger } from '../platform/logger';
import { buildPlatform } from '../platform/platform';
import { settingsOrExit } from '../platform/settings';
import { requireTemporalAddress } from '../platform/temporal';
import { installTemporalRuntime } from './logger';
import { startWorkerSide } from './worker';

const settings = settingsOrExit();
const logger = appLogger(settings);
const lifecycle = new Lifecycle(logger);
lifecycle.onSignals();
const temporalAddress = requireTemporalAddress(settings, 'the worker');

void startOrExit(lifecycle, 'worker start', async () => {
  installTemporalRuntime(logger);
  const platform = await buildPlatform({ settings, logger, lifecycle, temporalAddress });
  await startWorkerSide(platform, lifecycle, temporalAddress);
  logger.info({ temporal: temporalAddress, taskQueue: settings.TEMPORAL_TASK_QUEUE }, 'worker running');
});
