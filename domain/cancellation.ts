// Cancellation policy (SPEC section 2), before the scheduled start only:
//
//   who                          when                          student gets back
//   teacher (a booking or the    any time before start         100%
//   whole meeting), admin
//   student                      >= LATE_CANCEL_HOURS before   100%
//   student                      later                         LATE_CANCEL_REFUND_PERCENT;
//                                                              the rest is a late-cancellation
//                                                              fee, split like a release
import type { BookingPolicy, Outcome } from './booking';

export type Canceller = 'student' | 'teacher' | 'admin';

/** Who cancelled a whole meeting: its teacher, or else an admin (nobody else may). */
export interface MeetingCanceller {
  by: 'teacher' | 'admin';
  actorId: string;
}

/** The canceller a meeting row names (`cancelled_by`), told apart by the meeting's teacher. */
export function meetingCanceller(cancelledById: string, teacherId: string): MeetingCanceller {
  return { by: cancelledById === teacherId ? 'teacher' : 'admin', actorId: cancelledById };
}

/** The outcomes a cancellation can have (what a caller may say it expects). */
export const CANCELLATION_OUTCOMES = [
  'cancelled_by_teacher',
  'cancelled_by_admin',
  'cancelled_early',
  'cancelled_late',
] as const satisfies readonly Outcome[];
export type CancellationOutcome = (typeof CANCELLATION_OUTCOMES)[number];

export type CancellationTerms =
  { allowed: true; refundPercent: number; outcome: CancellationOutcome } | { allowed: false; reason: string };

const HOUR_MS = 3_600_000;

export function cancellationTerms(
  by: Canceller,
  nowMs: number,
  startsAtMs: number,
  policy: Pick<BookingPolicy, 'lateCancelHours' | 'lateCancelRefundPercent'>,
): CancellationTerms {
  if (nowMs >= startsAtMs) return { allowed: false, reason: 'the class has already started' };
  const outcome: CancellationOutcome =
    by === 'teacher'
      ? 'cancelled_by_teacher'
      : by === 'admin'
        ? 'cancelled_by_admin'
        : startsAtMs - nowMs >= policy.lateCancelHours * HOUR_MS
          ? 'cancelled_early'
          : 'cancelled_late';
  return { allowed: true, refundPercent: percentBack(outcome, policy), outcome };
}

function percentBack(
  outcome: CancellationOutcome,
  policy: Pick<BookingPolicy, 'lateCancelRefundPercent'>,
): number {
  return outcome === 'cancelled_late' ? policy.lateCancelRefundPercent : 100;
}

/**
 * The share of the price a cancellation with this outcome gives back under
 * `policy`; undefined for an outcome that is not a cancellation's (or none).
 */
export function refundPercentOf(
  outcome: string | undefined,
  policy: Pick<BookingPolicy, 'lateCancelRefundPercent'>,
): number | undefined {
  const known = CANCELLATION_OUTCOMES.find((o) => o === outcome);
  return known === undefined ? undefined : percentBack(known, policy);
}
