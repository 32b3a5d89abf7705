// Named activity timeout and retry presets, so each call says what it is
// rather than restating numbers.
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/** A database job that may scan large tables (the ledger audit). */
export const LONG_DATABASE_JOB: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  retry: {
    initialInterval: '10 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: 5,
  },
};

/** A short, idempotent database write. */
export const DATABASE_WRITE: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * Moves money (or records a booking's state with it): idempotent by its
 * transfer ids, so it retries without a cap until the database takes it; only
 * a refusal (a non-retryable ApplicationFailure) stops it.
 */
export const MONEY_MOVEMENT: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
};

/**
 * A courtesy call to a third party (closing a LiveKit room): a few tries, then
 * given up; nothing about money waits for it.
 */
export const BEST_EFFORT_CALL: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
  },
};

/**
 * A sweep through a third party's API that the next round repeats anyway
 * (reconciling top-ups with Stripe): a few tries, then left to that round.
 */
export const THIRD_PARTY_SWEEP: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '10 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 3,
  },
};

/** A read the workflow needs to go on: retried until the database answers. */
export const DATABASE_READ: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * DATABASE_READ as a local activity: run by the worker within the workflow
 * task that asks for it (no activity task through the server, no workflow
 * task for its result), for a short read whose answer the history keeps in a
 * marker. Retried the same way.
 */
export const LOCAL_DATABASE_READ: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * Mails notifications: tried again with backoff while the SMTP server is down
 * or answers "later", for about two hours, then given up (and marked failed).
 * An attempt stops sending well inside its start-to-close timeout, which
 * stays under the claim lease of notifications/delivery.ts.
 */
export const EMAIL_DELIVERY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '30 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 minutes',
    maximumAttempts: 10,
  },
};

/**
 * A payout through a provider (a Stripe Connect transfer): idempotent by a key
 * derived from the withdrawal, so it retries without a cap while the provider
 * is down or slow; only its refusal (non-retryable) stops it.
 */
export const PAYOUT: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
};
