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

export type CancellationTerms =
  { allowed: true; refundPercent: number; outcome: Outcome } | { allowed: false; reason: string };

const HOUR_MS = 3_600_000;

export function cancellationTerms(
  by: Canceller,
  nowMs: number,
  startsAtMs: number,
  policy: Pick<BookingPolicy, 'lateCancelHours' | 'lateCancelRefundPercent'>,
): CancellationTerms {
  if (nowMs >= startsAtMs) return { allowed: false, reason: 'the class has already started' };
  if (by === 'teacher') return { allowed: true, refundPercent: 100, outcome: 'cancelled_by_teacher' };
  if (by === 'admin') return { allowed: true, refundPercent: 100, outcome: 'cancelled_by_admin' };
  if (startsAtMs - nowMs >= policy.lateCancelHours * HOUR_MS) {
    return { allowed: true, refundPercent: 100, outcome: 'cancelled_early' };
  }
  return { allowed: true, refundPercent: policy.lateCancelRefundPercent, outcome: 'cancelled_late' };
}

/**
 * The share of the price a cancellation with this outcome gives back under
 * `policy`; undefined for an outcome that is not a cancellation's (or none).
 */
export function refundPercentOf(
  outcome: string | undefined,
  policy: Pick<BookingPolicy, 'lateCancelRefundPercent'>,
): number | undefined {
  switch (outcome) {
    case 'cancelled_by_teacher':
    case 'cancelled_by_admin':
    case 'cancelled_early':
      return 100;
    case 'cancelled_late':
      return policy.lateCancelRefundPercent;
    default:
      return undefined;
  }
}
