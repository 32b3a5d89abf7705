// The booking workflows as the services see them: start one (idempotently),
// send it a LiveKit event, ask it to cancel, take a dispute or an admin's
// decision. The workflow's refusals (non-retryable ApplicationFailures whose
// type is a 409 code) come back as ConflictErrors; a workflow that has
// already finished is reported as such for the caller to explain.
import {
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PresenceEvent } from '../domain/attendance';
import { finalisesAtMs } from '../domain/booking';
import { executeUpdate } from '../temporal-client/updates';
import type { bookingWorkflow } from '../workflows/booking';
import {
  attendanceEventSignal,
  BOOKING_WORKFLOW_TYPE,
  BookingSearchAttributes,
  bookingWorkflowId,
  cancelBookingUpdate,
  disputeBookingUpdate,
  resolveReviewUpdate,
  type BookingOutcome,
  type BookingResume,
  type BookingState,
  type BookingWorkflowInput,
  type CancelRequest,
  type DisputeRequest,
  type ResolveRequest,
} from '../workflows/shared';
import type { BookingRow } from './repository';

export { WorkflowGoneError } from '../temporal-client/updates';

/** How long starting a workflow may take before the caller gives up (the reconciler will not). */
const START_DEADLINE_MS = 5_000;
/** Everything the workflow needs, derived from the booking row alone (so anyone can start it, the same way). */
export function workflowInputOf(booking: BookingRow, closeRoom: boolean): BookingWorkflowInput {
  return {
    bookingId: booking.id,
    meetingId: booking.meeting_id,
    studentId: booking.student_id,
    teacherId: booking.teacher_id,
    price: booking.price,
    startsAt: booking.starts_at.toISOString(),
    endsAt: booking.ends_at.toISOString(),
    policy: booking.policy,
    closeRoom,
    ...resumeOf(booking),
  };
}

/** A booking already judged takes its run over where its row stands (absent otherwise: the input is as ever). */
function resumeOf(booking: BookingRow): { resume: BookingResume } | undefined {
  if (booking.settlement !== 'held') return undefined;
  // Only finalisation and a dispute change a judged row until it settles: its updated_at is when,
  // by the database's clock. Never before the class's finalisation time, by the booking's own
  // schedule (the workflow's clock, which a time-skipping test server runs ahead of the database's).
  const finaliseAtMs = finalisesAtMs(booking.ends_at, booking.policy);
  const since = new Date(Math.max(booking.updated_at.getTime(), finaliseAtMs)).toISOString();
  if (booking.status === 'requires_manual_review') return { resume: { phase: 'review', since } };
  if (booking.status === 'completed' && booking.outcome !== null) {
    return { resume: { phase: 'dispute_window', outcome: booking.outcome, since } };
  }
  return undefined;
}

/**
 * One run at a time, and a run that completed (the booking settled) is never
 * started again. A run that failed or was terminated (by support staff) while
 * the money was held is started again from the row, so the money is not held
 * for ever: before the class was judged, the new run does what the stopped one
 * had left (opening, attendance from the stored LiveKit events, a cancellation
 * sent again) through the same idempotent steps; after, it takes over the
 * dispute window or the review (`resume`).
 */
function reusePolicyFor(booking: BookingRow): WorkflowIdReusePolicy {
  return booking.settlement === 'held'
    ? WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
    : WorkflowIdReusePolicy.REJECT_DUPLICATE;
}

/** Money held and the class not yet judged: LiveKit's events still count for it. */
export function isBeforeFinalisation(booking: Pick<BookingRow, 'status' | 'settlement'>): boolean {
  return booking.settlement === 'held' && (booking.status === 'confirmed' || booking.status === 'open');
}

export class BookingWorkflows {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    /** Whether workflows close LiveKit rooms at finalisation (LIVEKIT_URL is set). */
    private readonly closeRooms: boolean,
  ) {}

  /** Starts the booking's workflow; one already started (or finished) under its id is fine. */
  async start(booking: BookingRow): Promise<void> {
    try {
      // Bounded: a booking request must not hang on an unreachable Temporal (the reconciler starts it later).
      await this.client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () => this.startNow(booking));
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return;
      throw error;
    }
  }

  private async startNow(booking: BookingRow): Promise<void> {
    await this.client.workflow.start<typeof bookingWorkflow>(BOOKING_WORKFLOW_TYPE, {
      workflowId: bookingWorkflowId(booking.id),
      taskQueue: this.taskQueue,
      args: [workflowInputOf(booking, this.closeRooms)],
      workflowIdReusePolicy: reusePolicyFor(booking),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      typedSearchAttributes: [
        { key: BookingSearchAttributes.bookingId, value: booking.id },
        { key: BookingSearchAttributes.meetingId, value: booking.meeting_id },
        { key: BookingSearchAttributes.teacherId, value: booking.teacher_id },
        { key: BookingSearchAttributes.studentId, value: booking.student_id },
        { key: BookingSearchAttributes.status, value: booking.status },
      ],
      staticSummary: `Booking ${booking.id}`,
    });
  }

  /** Delivers a LiveKit event; a workflow that has finished no longer needs it. */
  async signalAttendance(bookingId: string, event: PresenceEvent): Promise<'delivered' | 'finished'> {
    try {
      await this.client.workflow.getHandle(bookingWorkflowId(bookingId)).signal(attendanceEventSignal, event);
      return 'delivered';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return 'finished';
      throw error;
    }
  }

  cancel(bookingId: string, request: CancelRequest): Promise<BookingOutcome> {
    return this.update(bookingId, (handle) => handle.executeUpdate(cancelBookingUpdate, { args: [request] }));
  }

  dispute(bookingId: string, request: DisputeRequest): Promise<BookingState> {
    return this.update(bookingId, (handle) =>
      handle.executeUpdate(disputeBookingUpdate, { args: [request] }),
    );
  }

  resolve(bookingId: string, request: ResolveRequest): Promise<BookingOutcome> {
    return this.update(bookingId, (handle) => handle.executeUpdate(resolveReviewUpdate, { args: [request] }));
  }

  private update<T>(
    bookingId: string,
    call: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  ): Promise<T> {
    return executeUpdate(this.client, bookingWorkflowId(bookingId), call, 'booking');
  }
}
