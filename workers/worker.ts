// The worker side of a process: the Temporal worker (every workflow of
// workflows/, every activity of activities/, on the configured task queue),
// the email worker on its own queue beside it, the booking reconciler, and
// the maintenance workflow ensured.
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createNotificationActivities } from '../activities/notifications';
import { runReconciler } from '../bookings/reconciler';
import type { Lifecycle } from '../platform/lifecycle';
import { activityDeps, type Platform } from '../platform/platform';
import { emailTaskQueue } from '../workflows/shared';
import { ensureMaintenanceWorkflow } from './maintenance';

/** Emails sent at once per process: a slow SMTP server holds these, never the money steps' slots. */
export const EMAIL_ACTIVITY_SLOTS = 10;

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
  const emailWorker = await Worker.create({
    connection,
    namespace: settings.TEMPORAL_NAMESPACE,
    taskQueue: emailTaskQueue(settings.TEMPORAL_TASK_QUEUE),
    activities: createNotificationActivities(activityDeps(platform)),
    maxConcurrentActivityTaskExecutions: EMAIL_ACTIVITY_SLOTS,
  });
  for (const [name, each] of [
    ['worker', worker],
    ['email worker', emailWorker],
  ] as const) {
    let stopRequested = false;
    const running = each.run().catch((error: unknown) => {
      if (stopRequested) return;
      logger.error({ err: error }, `${name} failed`);
      lifecycle.exit(1, `${name} failed`);
    });
    lifecycle.add(name, async () => {
      stopRequested = true;
      if (each.getState() === 'RUNNING') each.shutdown();
      await running;
    });
  }
  const reconciler = runReconciler(
    {
      db: platform.db,
      clock: platform.clock,
      workflows: platform.bookingWorkflows,
      withdrawals: platform.withdrawalWorkflows,
      logger,
    },
    RECONCILE_EVERY_MS,
  );
  lifecycle.add('booking reconciler', reconciler.stop);
  await ensureMaintenanceWorkflow(platform.temporal.client, settings);
}
