// The policy a booking is judged by, taken from the configuration at booking
// time and stored with the booking (and carried in its workflow's input).
import type { BookingPolicy } from '../domain/booking';

export interface PolicySettings {
  OPEN_BEFORE_MINUTES: number;
  END_GRACE_MINUTES: number;
  ATTENDANCE_RELEASE_PERCENT: number;
  TEACHER_SHARE_REFERRED_PERCENT: number;
  TEACHER_SHARE_DEFAULT_PERCENT: number;
  LATE_CANCEL_HOURS: number;
  LATE_CANCEL_REFUND_PERCENT: number;
  DISPUTE_WINDOW_HOURS: number;
  REVIEW_REMINDER_HOURS: number;
}

/** The teacher gets the referral share when the student registered with this teacher's code. */
export function bookingPolicy(settings: PolicySettings, referredByThisTeacher: boolean): BookingPolicy {
  return {
    openBeforeMinutes: settings.OPEN_BEFORE_MINUTES,
    endGraceMinutes: settings.END_GRACE_MINUTES,
    attendanceReleasePercent: settings.ATTENDANCE_RELEASE_PERCENT,
    teacherSharePercent: referredByThisTeacher
      ? settings.TEACHER_SHARE_REFERRED_PERCENT
      : settings.TEACHER_SHARE_DEFAULT_PERCENT,
    lateCancelHours: settings.LATE_CANCEL_HOURS,
    lateCancelRefundPercent: settings.LATE_CANCEL_REFUND_PERCENT,
    disputeWindowHours: settings.DISPUTE_WINDOW_HOURS,
    reviewReminderHours: settings.REVIEW_REMINDER_HOURS,
  };
}
