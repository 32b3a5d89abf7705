// Root hooks shared by every test file. Resources that are expensive to start
// (the embedded Postgres, a dev server) are started lazily by the support module
// that owns them and register their shutdown here, so a run that never touches
// them never pays for them.
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { runCleanups } from '../support/cleanup';

// One Temporal SDK runtime for the whole test process, installed before any
// test creates a worker or connection: the SDK logs worker state changes at
// INFO, and test output should show only errors.
Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
});

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await runCleanups();
  },
};
