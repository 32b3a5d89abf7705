// Named activity timeout and retry presets, so each call says what it is
// rather than restating numbers.
import type { ActivityOptions } from '@temporalio/workflow';

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
