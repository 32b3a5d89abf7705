// Root hooks shared by every test file. Resources that are expensive to start
// (the embedded Postgres, a dev server) are started lazily by the support module
// that owns them and register their shutdown here, so a run that never touches
// them never pays for them.
import { runCleanups } from '../support/cleanup';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await runCleanups();
  },
};
