// Root hooks shared by every test file. Resources that are expensive to start
// (the embedded Postgres, a dev server) are started lazily by the support module
// that owns them and register their shutdown here, so a run that never touches
// them never pays for them.
import { Runtime } from '@temporalio/worker';
import { runCleanups } from '../support/cleanup';
import { staleActivityCompletionsError, testRuntimeLogFilter, testRuntimeLogger } from '../support/devserver';

// One Temporal SDK runtime for the whole test process, installed before any
// test creates a worker or connection: the SDK logs worker state changes at
// INFO, and test output should show only errors. Core's logs are forwarded to
// the test logger, which also catches a time-skipping server outrunning an
// activity (see test/support/devserver.ts).
Runtime.install({
  logger: testRuntimeLogger,
  telemetryOptions: { logging: { filter: testRuntimeLogFilter, forward: {} } },
});

export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    // Not thrown: a root afterEach hook that fails makes Mocha skip every test left in the
    // run. Handed to the hook's error(), the failure goes to the current test (reported
    // as failed, after its own result) and the run goes on.
    const stale = staleActivityCompletionsError(this.currentTest?.fullTitle() ?? 'a test');
    if (stale) (this.test as Mocha.Hook).error(stale);
  },
  async afterAll(): Promise<void> {
    await runCleanups();
  },
};
