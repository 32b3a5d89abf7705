// Workflows for the start/timeout/continue-as-new and update-with-start tests.
import * as wf from '@temporalio/workflow';

/** Sleeps, then continues as new with the same argument: a chain only a timeout ends. */
export async function sleepAndContinue(sleepMs: number): Promise<never> {
  await wf.sleep(sleepMs);
  return wf.continueAsNew<typeof sleepAndContinue>(sleepMs);
}
