// Asking a workflow for something through an update, as the services do: with
// a deadline (a workflow whose worker is away must not hold an HTTP request for
// ever), its refusals (non-retryable ApplicationFailures whose type is a 409
// code) as ConflictErrors, and a workflow that is not running reported as such.
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ConflictError, UnavailableError } from '../domain/errors';

/** How long an update (each waits for its step to run) may take. */
export const UPDATE_DEADLINE_MS = 30_000;

/** The workflow is not running (it finished, or was never started). */
export class WorkflowGoneError extends Error {
  constructor(readonly workflowId: string) {
    super(`workflow ${workflowId} is not running`);
    this.name = 'WorkflowGoneError';
  }
}

function isDeadlineExceeded(error: unknown): boolean {
  return (error as { code?: number }).code === 4; /* DEADLINE_EXCEEDED */
}

export async function executeUpdate<T>(
  client: Client,
  workflowId: string,
  call: (handle: WorkflowHandle) => Promise<T>,
  what: string,
): Promise<T> {
  try {
    // The update may still be applied after the deadline: the caller is told to look again.
    return await client.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      call(client.workflow.getHandle(workflowId)),
    );
  } catch (error) {
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadlineExceeded(error)) {
      throw new UnavailableError(
        `the ${what}'s workflow did not answer within ${UPDATE_DEADLINE_MS / 1000} s; look at the ${what} again before retrying`,
      );
    }
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      const { type, message } = error.cause;
      if (type !== undefined && type !== null) throw new ConflictError(type, message);
    }
    if (error instanceof WorkflowNotFoundError) throw new WorkflowGoneError(workflowId);
    throw error;
  }
}
