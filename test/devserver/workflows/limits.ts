// Workflows for the payload size limits: results and activity results of a given size.
import * as wf from '@temporalio/workflow';

export interface LargeActivities {
  /** Returns a string of `bytes` characters. */
  largeResult(bytes: number): Promise<string>;
}

/** Returns a string of `bytes` characters as the workflow result. */
export async function largeWorkflowResult(bytes: number): Promise<string> {
  return 'x'.repeat(bytes);
}

/** Runs largeResult (retries allowed) and reports how it ended. */
export async function largeActivityResult(bytes: number): Promise<string> {
  const acts = wf.proxyActivities<LargeActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '1 second' },
  });
  try {
    return `completed with ${(await acts.largeResult(bytes)).length} characters`;
  } catch (err) {
    if (err instanceof wf.ActivityFailure) {
      const cause = err.cause;
      const kind = cause instanceof wf.ServerFailure ? 'ServerFailure' : cause?.name;
      const nonRetryable = cause instanceof wf.ServerFailure ? cause.nonRetryable : undefined;
      return `failed: ${kind} ${cause?.message} nonRetryable=${nonRetryable} retryState=${err.retryState}`;
    }
    throw err;
  }
}

export const finishSignal = wf.defineSignal('finish');

/** Waits for `finish`, then reports what workflow info says about its history. */
export async function historyInfoAtFinish(): Promise<{
  historyLength: number;
  historySize: number;
  continueAsNewSuggested: boolean;
}> {
  let finished = false;
  wf.setHandler(finishSignal, () => void (finished = true));
  await wf.condition(() => finished);
  const { historyLength, historySize, continueAsNewSuggested } = wf.workflowInfo();
  return { historyLength, historySize, continueAsNewSuggested };
}
