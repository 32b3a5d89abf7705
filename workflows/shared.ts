// What workflows and their callers share: names, ids, inputs, signals, updates,
// queries and search attributes.
// Safe to import from workflow code (no Node built-ins, no app modules).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PresenceEvent } from '../domain/attendance';
import type {
  AttendanceSummary,
  BookingPolicy,
  BookingStatus,
  Outcome,
  ReviewDecision,
  Settlement,
} from '../domain/booking';
import type { Canceller } from '../domain/cancellation';

export const MAINTENANCE_WORKFLOW_ID = 'maintenance';

/**
 * The task queue of email delivery beside a workflow task queue: its own
 * worker, with its own few activity slots, so a slow SMTP server can never
 * take the slots the money steps run in.
 */
export function emailTaskQueue(taskQueue: string): string {
  return `${taskQueue}-email`;
}

export interface MaintenanceInput {
  intervalMinutes: number;
  idempotencyKeyRetentionHours: number;
  /** Rounds before the workflow continues as new (default 100). */
  roundsPerRun?: number;
}

export interface LedgerAuditSummary {
  ok: boolean;
  failedChecks: string[];
  accounts: number;
  transfers: number;
  /** ISO-8601, when the audit ran (the activity's clock). */
  at: string;
  /** Recomputed from every transfer, or from the last checkpoint on (absent in rounds before checkpoints). */
  mode?: 'full' | 'incremental';
  /** Transfers read since the last checkpoint. */
  windowTransfers?: number;
  /** The checkpoint this round recorded (null: none, after a breach). */
  checkpointId?: number | null;
}

/** The last round's look at open top-ups (absent on rounds from before it existed). */
export type TopupReconciliationStatus =
  | {
      ok: true;
      at: string;
      /** Open top-ups looked up at Stripe, credited now, found expired or mismatched, not looked up. */
      checked: number;
      credited: number;
      expired: number;
      mismatched: number;
      errors: number;
    }
  | { ok: false; at: string; reason: string };

export interface MaintenanceStatus {
  rounds: number;
  lastAudit: LedgerAuditSummary | null;
  idempotencyKeysPurged: number;
  lastTopupReconciliation?: TopupReconciliationStatus;
}

/** The settings of the running maintenance workflow (sent by every worker at start). */
export const configureMaintenance =
  defineSignal<[Pick<MaintenanceInput, 'intervalMinutes' | 'idempotencyKeyRetentionHours'>]>(
    'configureMaintenance',
  );
/** Runs a maintenance round now (one that starts after the request) and answers the status after it. */
export const runMaintenanceNow = defineUpdate<MaintenanceStatus>('runMaintenanceNow');
export const maintenanceStatus = defineQuery<MaintenanceStatus>('maintenanceStatus');

// ---- Bookings ---------------------------------------------------------------

export const BOOKING_WORKFLOW_TYPE = 'bookingWorkflow';

/** One workflow per booking, named after it: support staff find it by the booking's id. */
export function bookingWorkflowId(bookingId: string): string {
  return `booking-${bookingId}`;
}

export interface BookingWorkflowInput {
  bookingId: string;
  meetingId: string;
  studentId: string;
  teacherId: string;
  /** Held price, minor units. */
  price: number;
  /** ISO-8601. */
  startsAt: string;
  endsAt: string;
  /** The rules as configured when the booking was made (never re-read). */
  policy: BookingPolicy;
  /** Close the LiveKit room at finalisation (LIVEKIT_URL was configured). */
  closeRoom: boolean;
  /**
   * Set when the class was judged already and the run that judged it stopped
   * (terminated by support staff, or lost with Temporal's state): this run
   * takes over where the booking stands instead of judging the class again.
   */
  resume?: BookingResume;
}

/**
 * Where a run started for a judged booking takes over, from the booking's row:
 * `since` is when the phase was recorded (ISO-8601, the row's updated_at).
 */
export type BookingResume =
  /** Released to the teacher once the dispute window closes, unless the student disputes. */
  | { phase: 'dispute_window'; outcome: Outcome; since: string }
  /** Waiting for an admin's decision. */
  | { phase: 'review'; since: string };

/**
 * Events one booking keeps: a bound on its state, so a reconnect storm cannot
 * grow it without limit. Far above any real class; beyond it further events
 * are dropped and a person reviews the booking instead of the rules judging it
 * on a truncated record.
 */
export const MAX_ATTENDANCE_EVENTS = 2_000;

export type BookingPhase =
  'scheduled' | 'open' | 'finalising' | 'dispute_window' | 'review' | 'settled' | 'cancelled';

/** What a settled (or cancelled) booking came to; the answer of cancel and resolve. */
export interface BookingOutcome {
  bookingId: string;
  status: BookingStatus;
  settlement: Settlement;
  outcome: Outcome | null;
  /** Minor units returned to the student, earned by the teacher, kept by the platform (null while held). */
  amounts: { refunded: number; teacher: number; platform: number } | null;
}

export interface BookingState {
  phase: BookingPhase;
  /** Attendance from the events received so far (up to now, or the end). */
  attendance: AttendanceSummary;
  /** ISO-8601 of the next thing the workflow waits for by time, if any. */
  nextDeadline: string | null;
  outcome: BookingOutcome | null;
  eventsReceived: number;
}

export interface CancelRequest {
  by: Canceller;
  actorId: string;
  reason?: string;
  /**
   * The outcome the person was shown (GET /bookings/:id/cancellation): a cancel
   * that would now give back less (the late-cancellation boundary crossed
   * meanwhile) is refused with `terms_changed` instead of applied on terms they
   * did not see. Checked by the update's validator only.
   */
  expectedOutcome?: string;
  /**
   * A meeting's cancellation (by its teacher or an admin): when it committed,
   * as the meeting row says, always before the start. It is judged at that
   * time, not when it reaches the booking, so one whose update arrives after
   * the start (a request that died on the way, sent again) still refunds in full.
   */
  meetingCancelledAt?: string;
}

export interface DisputeRequest {
  studentId: string;
  reason: string;
}

export interface ResolveRequest {
  adminId: string;
  review: ReviewDecision;
  note?: string;
}

/** Types of the ApplicationFailures a booking's updates are refused with (the API's 409 codes). */
export const BookingRefusal = {
  notCancellable: 'not_cancellable',
  termsChanged: 'terms_changed',
  notDisputable: 'not_disputable',
  alreadyResolved: 'already_resolved',
  notInReview: 'not_in_review',
  invalidDecision: 'invalid_decision',
} as const;

/** A LiveKit event concerning this booking's student or teacher. */
export const attendanceEventSignal = defineSignal<[PresenceEvent]>('attendanceEvent');
export const cancelBookingUpdate = defineUpdate<BookingOutcome, [CancelRequest]>('cancelBooking');
export const disputeBookingUpdate = defineUpdate<BookingState, [DisputeRequest]>('disputeBooking');
export const resolveReviewUpdate = defineUpdate<BookingOutcome, [ResolveRequest]>('resolveReview');
export const bookingStateQuery = defineQuery<BookingState>('bookingState');

/** Search attributes support staff filter bookings by (registered at start when missing). */
export const BookingSearchAttributes = {
  bookingId: defineSearchAttributeKey('BookingId', SearchAttributeType.KEYWORD),
  meetingId: defineSearchAttributeKey('MeetingId', SearchAttributeType.KEYWORD),
  teacherId: defineSearchAttributeKey('TeacherId', SearchAttributeType.KEYWORD),
  studentId: defineSearchAttributeKey('StudentId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('BookingStatus', SearchAttributeType.KEYWORD),
};

// ---- Withdrawals --------------------------------------------------------------

export const WITHDRAWAL_WORKFLOW_TYPE = 'withdrawalWorkflow';

/** One workflow per withdrawal, named after it. */
export function withdrawalWorkflowId(withdrawalId: string): string {
  return `withdrawal-${withdrawalId}`;
}

/** Everything the workflow needs; never the bank details (histories are readable by support staff). */
export interface WithdrawalWorkflowInput {
  withdrawalId: string;
  teacherId: string;
  /** Held amount, minor units. */
  amount: number;
  /** How it is paid, fixed when asked. */
  provider: 'manual' | 'stripe';
  /** Admins are reminded this often while the withdrawal waits for them. */
  reminderHours: number;
  /**
   * A run started again for a withdrawal already approved (its first run
   * failed or was terminated): it goes straight to the payout.
   */
  resumeFrom?: 'processing';
}

export type WithdrawalPhase = 'pending' | 'processing' | 'completed' | 'rejected' | 'failed';

export interface WithdrawalState {
  phase: WithdrawalPhase;
  /** ISO-8601 of the next reminder to admins, while it waits for one. */
  nextReminder: string | null;
  /** The bank transfer's reference or the Stripe transfer id, once paid. */
  reference: string | null;
  /** Why it was rejected or why the payout failed. */
  reason: string | null;
}

export interface ApproveWithdrawalRequest {
  adminId: string;
}

export interface RejectWithdrawalRequest {
  adminId: string;
  reason: string;
}

/** An admin's word on a manual payout: the bank transfer was made (`reference`), or it bounced (`failure`). */
export type ManualPayoutReport =
  | { adminId: string; outcome: 'completed'; reference: string }
  | { adminId: string; outcome: 'failed'; reason: string };

/** Types of the ApplicationFailures a withdrawal's updates are refused with (the API's 409 codes). */
export const WithdrawalRefusal = {
  alreadyResolved: 'already_resolved',
  notProcessing: 'not_processing',
  notManualPayout: 'not_manual_payout',
} as const;

/** Failure type of a payout the provider refused for good (the money goes back to the teacher). */
export const PAYOUT_REFUSED = 'payout_refused';

export const approveWithdrawalUpdate = defineUpdate<WithdrawalState, [ApproveWithdrawalRequest]>(
  'approveWithdrawal',
);
export const rejectWithdrawalUpdate = defineUpdate<WithdrawalState, [RejectWithdrawalRequest]>(
  'rejectWithdrawal',
);
export const reportManualPayoutUpdate = defineUpdate<WithdrawalState, [ManualPayoutReport]>(
  'reportManualPayout',
);
export const withdrawalStateQuery = defineQuery<WithdrawalState>('withdrawalState');
