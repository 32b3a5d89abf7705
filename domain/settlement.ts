// What happens to the held price when a class is over (SPEC section 2):
//
//   teacher   student attendance          outcome
//   present   >= release threshold        release (teacher share, rest to platform)
//   present   above 0, below threshold    refund 100%
//   present   0                           no-show review (student no-show), money held
//   absent    any                         no-show review (teacher no-show), money held
//
// and what an admin's review decision or a cancellation moves.
import { attendedAtLeast, type Attendance } from './attendance';
import { assert } from './assert';
import type { Outcome, ReviewDecision, Settlement } from './booking';
import { settlementAmounts, type SettlementAmounts } from './money';

export type FinalDecision =
  | { action: 'release'; outcome: 'attended' }
  | { action: 'refund'; outcome: 'low_attendance' }
  | { action: 'review'; outcome: 'student_no_show' | 'teacher_no_show' };

export function decideAtFinalisation(attendance: Attendance, releasePercent: number): FinalDecision {
  if (attendance.teacherMs <= 0) return { action: 'review', outcome: 'teacher_no_show' };
  if (attendance.studentMs <= 0) return { action: 'review', outcome: 'student_no_show' };
  if (attendedAtLeast(attendance, releasePercent)) return { action: 'release', outcome: 'attended' };
  return { action: 'refund', outcome: 'low_attendance' };
}

/**
 * Money movements of one settlement: `refundPercent` of the price back to the
 * student, the rest kept and split between teacher and platform.
 */
export interface SettlementPlan {
  outcome: Outcome;
  refundPercent: number;
  amounts: SettlementAmounts;
  settlement: Exclude<Settlement, 'held'>;
}

export function planSettlement(
  price: number,
  teacherSharePercent: number,
  refundPercent: number,
  outcome: Outcome,
): SettlementPlan {
  const amounts = settlementAmounts(price, refundPercent, teacherSharePercent);
  const settlement: SettlementPlan['settlement'] =
    amounts.kept === 0 ? 'refunded' : amounts.refund === 0 ? 'released' : 'partially_refunded';
  return { outcome, refundPercent, amounts, settlement };
}

export function planRelease(price: number, teacherSharePercent: number, outcome: Outcome): SettlementPlan {
  return planSettlement(price, teacherSharePercent, 0, outcome);
}

export function planRefund(price: number, teacherSharePercent: number, outcome: Outcome): SettlementPlan {
  return planSettlement(price, teacherSharePercent, 100, outcome);
}

/** Whether a review decision is one planReviewDecision can carry out (checked where it comes in). */
export function isReviewDecision(review: unknown): review is ReviewDecision {
  if (typeof review !== 'object' || review === null) return false;
  const { decision, refundPercent } = review as { decision?: unknown; refundPercent?: unknown };
  if (decision === 'release' || decision === 'refund') return true;
  return (
    decision === 'partial' &&
    typeof refundPercent === 'number' &&
    Number.isInteger(refundPercent) &&
    refundPercent >= 0 &&
    refundPercent <= 100
  );
}

/** An admin's decision on a booking in review. */
export function planReviewDecision(
  price: number,
  teacherSharePercent: number,
  review: ReviewDecision,
): SettlementPlan {
  switch (review.decision) {
    case 'release':
      return planRelease(price, teacherSharePercent, 'admin_release');
    case 'refund':
      return planRefund(price, teacherSharePercent, 'admin_refund');
    case 'partial':
      assert(
        Number.isInteger(review.refundPercent) && review.refundPercent >= 0 && review.refundPercent <= 100,
        'refundPercent is 0..100',
      );
      return planSettlement(price, teacherSharePercent, review.refundPercent, 'admin_partial');
  }
}
