// The Temporal worker: every workflow of workflows/ and every activity of
// activities/, on the configured task queue.
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import type { Settings } from '../config/settings';
import type { Db } from '../db/knex';

export interface RunningWorker {
  stop: () => Promise<void>;
}

export async function startWorker(deps: {
  settings: Settings;
  db: Db;
  logger: Logger;
  connection: NativeConnection;
  /** Called if the worker stops on its own (a fatal error): the process should shut down. */
  onFailure: (error: unknown) => void;
}): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: deps.connection,
    namespace: deps.settings.TEMPORAL_NAMESPACE,
    taskQueue: deps.settings.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ db: deps.db, logger: deps.logger }),
  });
  let stopRequested = false;
  const running = worker.run().catch((error: unknown) => {
    if (!stopRequested) deps.onFailure(error);
  });
  return {
    stop: async () => {
      stopRequested = true;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
