// The vocabulary of a booking, as the API shows it and the workflow decides it.

export const BOOKING_STATUSES = [
  'confirmed',
  'open',
  'completed',
  'cancelled',
  'requires_manual_review',
] as const;
export type BookingStatus = (typeof BOOKING_STATUSES)[number];

/** Where the held price went. */
export const SETTLEMENTS = ['held', 'released', 'refunded', 'partially_refunded'] as const;
export type Settlement = (typeof SETTLEMENTS)[number];

/** Why a booking ended as it did. */
export const OUTCOMES = [
  'attended',
  'low_attendance',
  'student_no_show',
  'teacher_no_show',
  'cancelled_by_teacher',
  'cancelled_by_admin',
  'cancelled_early',
  'cancelled_late',
  'admin_release',
  'admin_refund',
  'admin_partial',
  'disputed',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Statuses in which a booking still holds a seat and its workflow still runs. */
export const LIVE_STATUSES: readonly BookingStatus[] = [
  'confirmed',
  'open',
  'completed',
  'requires_manual_review',
];

/**
 * The rules a booking is judged by, copied from the configuration when it is
 * made and carried in its workflow's input: a later change of configuration
 * never rewrites a booking already made.
 */
export interface BookingPolicy {
  openBeforeMinutes: number;
  endGraceMinutes: number;
  attendanceReleasePercent: number;
  /** Teacher's share of released money for this booking (referred or not, decided at booking time). */
  teacherSharePercent: number;
  lateCancelHours: number;
  lateCancelRefundPercent: number;
  disputeWindowHours: number;
  reviewReminderHours: number;
}

const MINUTE_MS = 60_000;

/** When a booking's class opens (join allowed, participants told), by the policy it was booked under. */
export function opensAtMs(startsAt: Date | number, policy: Pick<BookingPolicy, 'openBeforeMinutes'>): number {
  return new Date(startsAt).getTime() - policy.openBeforeMinutes * MINUTE_MS;
}

/**
 * When a booking's class is judged at the latest (its end and the grace after
 * it), by the policy it was booked under; its room's tokens last until then.
 */
export function finalisesAtMs(endsAt: Date | number, policy: Pick<BookingPolicy, 'endGraceMinutes'>): number {
  return new Date(endsAt).getTime() + policy.endGraceMinutes * MINUTE_MS;
}

/** What an admin decides for a booking in review. */
export type ReviewDecision =
  { decision: 'release' } | { decision: 'refund' } | { decision: 'partial'; refundPercent: number };

/** Attendance as the booking shows it (and as evidence in review). */
export interface AttendanceSummary {
  /** Seconds the student was present within [start, end]. */
  seconds: number;
  /** seconds / class length, in percent, rounded down to two decimals. */
  percent: number;
  teacherSeconds: number;
}
