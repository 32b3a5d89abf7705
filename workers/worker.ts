// The worker side of a process: the Temporal worker (every workflow of
// workflows/, every activity of activities/, on the configured task queue),
// the booking reconciler beside it, and the maintenance workflow ensured.
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { runReconciler } from '../bookings/reconciler';
import type { Lifecycle } from '../platform/lifecycle';
import { activityDeps, type Platform } from '../platform/platform';
import { ensureMaintenanceWorkflow } from './maintenance';

/** How often the reconciler looks for bookings whose workflow was never started. */
const RECONCILE_EVERY_MS = 15_000;

/**
 * Starts the worker side; every part is registered with `lifecycle`. If the
 * worker stops on its own (a fatal error), the process shuts down.
 */
export async function startWorkerSide(
  platform: Platform,
  lifecycle: Lifecycle,
  temporalAddress: string,
): Promise<void> {
  const { settings, logger } = platform;
  const connection = await NativeConnection.connect({ address: temporalAddress });
  lifecycle.add('worker connection', () => connection.close());
  const worker = await Worker.create({
    connection,
    namespace: settings.TEMPORAL_NAMESPACE,
    taskQueue: settings.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(activityDeps(platform)),
  });
  let stopRequested = false;
  const running = worker.run().catch((error: unknown) => {
    if (stopRequested) return;
    logger.error({ err: error }, 'worker failed');
    lifecycle.exit(1, 'worker failed');
  });
  lifecycle.add('worker', async () => {
    stopRequested = true;
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  });
  const reconciler = runReconciler(
    { db: platform.db, clock: platform.clock, workflows: platform.bookingWorkflows, logger },
    RECONCILE_EVERY_MS,
  );
  lifecycle.add('booking reconciler', reconciler.stop);
  await ensureMaintenanceWorkflow(platform.temporal.client, settings);
}
