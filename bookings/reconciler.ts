// The guarantee behind "every booking has its workflow": a booking commits
// first (row, seat, hold), then its request starts `booking-<id>`. If that
// request dies in between, or Temporal was unreachable, the booking's row
// still says `workflow_started = false`; this reconciler claims such rows
// (FOR UPDATE SKIP LOCKED, so several workers share the work) and starts
// their workflows from the row. Starting twice is harmless: one id, one run
// at a time, and a run that settled its booking is never started again.
//
// Bookings whose money is still held six hours after their class (or their
// dispute window) ended get their workflows started again too: a run stopped
// (terminated by support staff, or lost with Temporal's state) is replaced by
// one that takes over from the row. A review waits for an admin, whose
// decision starts such a run.
//
// Withdrawals get the same: one whose request died before starting its
// workflow has it started here.
//
// It also finishes what a meeting cancellation left undone: a live booking of
// a cancelled meeting that has not started gets its cancellation again; and
// marks failed the emails nobody will send any more (still due a day after
// their notification), so none stays pending forever.
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import type { Clock } from '../domain/clock';
import { meetingCanceller } from '../domain/cancellation';
import { DomainError } from '../domain/errors';
import {
  overdueHeldBookings,
  overdueReleases,
  uncancelledBookingsOfCancelledMeetings,
  type BookingRow,
} from './repository';
import { startUnstartedWorkflows } from '../db/workflow-started';
import { failStaleEmails } from '../notifications/email-queue';
import { WorkflowGoneError, type BookingWorkflows } from './workflow-gateway';
import { restartStalledPayouts, startMissingWithdrawalWorkflows } from '../withdrawals/service';
import type { WithdrawalWorkflows } from '../withdrawals/workflow-gateway';

export interface ReconcilerDeps {
  db: Db;
  clock: Clock;
  workflows: BookingWorkflows;
  logger: Logger;
  /** Withdrawals get the same guarantee: each has its workflow. */
  withdrawals?: WithdrawalWorkflows;
}

/** A booking's own request gets this long to start its workflow before the reconciler does. */
export const START_GRACE_MS = 30_000;
/** Rows per round (a bound on one round's work). */
const BATCH = 100;
/** A held booking this long past its class's end (grace and a margin) should have been settled. */
export const OVERDUE_AFTER_MS = 6 * 60 * 60_000;
/** An email still due this long after its notification (delivery gives up within about two hours). */
export const STALE_EMAIL_AFTER_MS = 24 * 60 * 60_000;

export interface ReconcileResult {
  started: number;
  cancellationsResent: number;
  /** Starts asked for bookings overdue for settlement (mostly no-ops: the workflow exists). */
  overdueRestarted: number;
  /** Emails nobody will send any more, marked failed. */
  staleEmailsFailed: number;
  /** Withdrawal workflows started for withdrawals whose request did not. */
  withdrawalsStarted: number;
  /** Starts asked for payouts in progress for an hour (mostly no-ops: the run is alive). */
  payoutsRestarted: number;
}

export async function reconcileBookings(
  deps: ReconcilerDeps,
  options: { startGraceMs?: number } = {},
): Promise<ReconcileResult> {
  const now = deps.clock.now();
  const olderThan = new Date(now.getTime() - (options.startGraceMs ?? START_GRACE_MS));
  const started = await startUnstartedWorkflows<BookingRow>(deps.db, 'bookings', {
    olderThan,
    limit: BATCH,
    start: (booking) => deps.workflows.start(booking),
    onFailure: (booking, error) =>
      deps.logger.warn(
        { err: error, bookingId: booking.id },
        'reconciler could not start a booking workflow',
      ),
  });
  if (started > 0) deps.logger.info({ started }, 'reconciler started booking workflows');

  // Classes over for a while whose money is still held, unjudged or released pending a dispute
  // window long closed: start their workflows again (a no-op where one runs). A new run
  // finalises at once from the stored LiveKit events, or releases the money.
  let overdueRestarted = 0;
  const overdueBefore = new Date(now.getTime() - OVERDUE_AFTER_MS);
  for (const booking of [
    ...(await overdueHeldBookings(deps.db, overdueBefore, BATCH)),
    ...(await overdueReleases(deps.db, overdueBefore, BATCH)),
  ]) {
    try {
      await deps.workflows.start(booking);
      overdueRestarted++;
    } catch (error) {
      deps.logger.warn(
        { err: error, bookingId: booking.id },
        'reconciler could not restart an overdue booking',
      );
    }
  }

  let cancellationsResent = 0;
  for (const booking of await uncancelledBookingsOfCancelledMeetings(deps.db, now, BATCH)) {
    try {
      await deps.workflows.cancel(booking.id, {
        ...meetingCanceller(booking.meeting_cancelled_by, booking.teacher_id),
        reason: 'meeting cancelled',
        meetingCancelledAt: booking.meeting_cancelled_at.toISOString(),
      });
      cancellationsResent++;
    } catch (error) {
      // Refused (cancelled meanwhile), finished, or not answering yet: the next round looks again.
      if (!(error instanceof DomainError || error instanceof WorkflowGoneError)) throw error;
    }
  }
  const staleEmailsFailed = await failStaleEmails(deps.db, STALE_EMAIL_AFTER_MS, BATCH);
  const withdrawals = deps.withdrawals === undefined ? undefined : { ...deps, workflows: deps.withdrawals };
  const withdrawalsStarted =
    withdrawals === undefined ? 0 : await startMissingWithdrawalWorkflows(withdrawals, now, BATCH);
  const payoutsRestarted =
    withdrawals === undefined ? 0 : await restartStalledPayouts(withdrawals, now, BATCH);
  return {
    started,
    cancellationsResent,
    overdueRestarted,
    staleEmailsFailed,
    withdrawalsStarted,
    payoutsRestarted,
  };
}

/** Runs rounds every `intervalMs` until stopped; a failed round is logged and the next one tries again. */
export function runReconciler(deps: ReconcilerDeps, intervalMs: number): { stop: () => Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running !== undefined) return; // the last round is still going: never two at once
    running = reconcileBookings(deps)
      .catch((error: unknown) => {
        deps.logger.error({ err: error }, 'booking reconciler round failed');
      })
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
