// A worker process with the app's workflows and activities, for tests that
// kill it with SIGKILL mid-work. Arguments: Temporal address, database URL,
// task queue. Prints READY once it polls.
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../../activities';
import { createDb } from '../../../db/knex';
import { emailTaskQueue } from '../../../workflows/shared';
import { testActivityDeps } from '../workers';

const [address, databaseUrl, taskQueue] = process.argv.slice(2);

async function main(): Promise<void> {
  const db = createDb(databaseUrl!, { poolMax: 10 });
  const connection = await NativeConnection.connect({ address: address! });
  const activities = createActivities(testActivityDeps(db));
  const worker = await Worker.create({
    connection,
    taskQueue: taskQueue!,
    workflowsPath: require.resolve('../../../workflows'),
    activities,
  });
  const email = await Worker.create({
    connection,
    taskQueue: emailTaskQueue(taskQueue!),
    activities: { deliverNotifications: activities.deliverNotifications },
  });
  const running = Promise.all([worker.run(), email.run()]);
  console.log('READY');
  await running;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
