// Makes sure the maintenance workflow runs: every worker process asks at
// start; the first start wins and the others find it running.
import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import type { Settings } from '../config/settings';
import { maintenanceWorkflow } from '../workflows/maintenance';
import { MAINTENANCE_WORKFLOW_ID } from '../workflows/shared';

export async function ensureMaintenanceWorkflow(client: Client, settings: Settings): Promise<void> {
  await client.workflow.start(maintenanceWorkflow, {
    workflowId: MAINTENANCE_WORKFLOW_ID,
    taskQueue: settings.TEMPORAL_TASK_QUEUE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    args: [
      {
        intervalMinutes: settings.MAINTENANCE_INTERVAL_MINUTES,
        idempotencyKeyRetentionHours: settings.IDEMPOTENCY_KEY_RETENTION_HOURS,
      },
    ],
  });
}
