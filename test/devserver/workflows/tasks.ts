// Workflows for the workflow-task and activity-retry tests (virtual time, no wall clock).
import * as wf from '@temporalio/workflow';

/** Returns at once; used where the test plays the failing worker itself over raw gRPC. */
export async function recovers(): Promise<string> {
  return 'recovered';
}

/**
 * Fails its first workflow task (history then ends at event 3, its WorkflowTaskStarted)
 * and succeeds on the retry, whose history also holds the failure and the retry's events.
 */
export async function failsFirstTask(): Promise<string> {
  if (wf.workflowInfo().historyLength <= 3) throw new Error('workflow task failure on purpose');
  return 'recovered';
}

export interface BackoffActivities {
  flaky(failTimes: number): Promise<number>;
}

/** Hour-scale backoff (virtual time): 1 h, then 10 h capped to 90 minutes. */
export async function runHourlyBackoff(): Promise<string> {
  const acts = wf.proxyActivities<BackoffActivities>({
    startToCloseTimeout: '10s',
    retry: {
      initialInterval: '1 hour',
      backoffCoefficient: 10,
      maximumInterval: '90 minutes',
      maximumAttempts: 3,
    },
  });
  return `ok after ${await acts.flaky(2)} attempts`;
}
