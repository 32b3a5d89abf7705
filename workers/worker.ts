// The Temporal worker: every workflow of workflows/ and every activity of
// activities/, on the configured task queue.
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import type { Settings } from '../config/settings';
import type { Db } from '../db/knex';

export interface RunningWorker {
  stop(): Promise<void>;
}

export async function startWorker(deps: {
  settings: Settings;
  db: Db;
  logger: Logger;
  connection: NativeConnection;
}): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: deps.connection,
    namespace: deps.settings.TEMPORAL_NAMESPACE,
    taskQueue: deps.settings.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ db: deps.db, logger: deps.logger }),
  });
  const running = worker.run();
  return {
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}
