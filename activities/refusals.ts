// An activity that reuses a service must never retry an expected refusal:
// the service's DomainError becomes a non-retryable ApplicationFailure whose
// type is the refusal's code, for the workflow to handle. Anything else (the
// database down, a timeout) stays retryable.
import { ApplicationFailure } from '@temporalio/activity';
import { DomainError } from '../domain/errors';

export async function refusalsAreFinal<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DomainError) {
      throw ApplicationFailure.create({
        message: error.message,
        type: error.code,
        nonRetryable: true,
        details: error.details === undefined ? [] : [error.details],
        cause: error,
      });
    }
    throw error;
  }
}
