// Makes sure the maintenance workflow runs with the current settings: every
// worker process signals-with-start at start; the first start wins, the
// others find it running, and the signal hands it this process's settings
// (so a changed interval reaches the running workflow).
import type { Client } from '@temporalio/client';
import type { Settings } from '../config/settings';
import { maintenanceWorkflow } from '../workflows/maintenance';
import { configureMaintenance, MAINTENANCE_WORKFLOW_ID } from '../workflows/shared';

export async function ensureMaintenanceWorkflow(client: Client, settings: Settings): Promise<void> {
  const config = {
    intervalMinutes: settings.MAINTENANCE_INTERVAL_MINUTES,
    idempotencyKeyRetentionHours: settings.IDEMPOTENCY_KEY_RETENTION_HOURS,
  };
  await client.workflow.signalWithStart(maintenanceWorkflow, {
    workflowId: MAINTENANCE_WORKFLOW_ID,
    taskQueue: settings.TEMPORAL_TASK_QUEUE,
    args: [config],
    signal: configureMaintenance,
    signalArgs: [config],
  });
}
