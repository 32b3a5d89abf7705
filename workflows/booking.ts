// One booking, from the moment its price is held until the money has gone
// where the rules say (SPEC sections 1, 2 and 5):
//
//   scheduled --(open time)--> open --(end + grace, or room_finished after the end)--> finalising
//       |                       |                                                          |
//       +--- cancel, before the start ---> cancelled        attended: release ------------+
//                                                           (or dispute window, then release or review)
//                                                           low attendance: refund -------+
//                                                           no-show: review --(admin)--> settled
//
// A run started for a booking already judged, whose earlier run stopped
// (terminated, or lost with Temporal's state), takes over its dispute window
// or its review where the row says it is (`input.resume`).
//
// Every decision (cancellation terms, attendance, settlement) is taken here,
// with the pure rules of domain/ and the policy carried in the input, so a
// cancel racing the opening or the finalisation has exactly one outcome.
// Activities carry decisions out, idempotently; their refusals never happen
// for a decision taken here, so money-moving activities retry until done.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { AttendanceEvidence, BookingActivities, SettleInput } from '../activities/bookings';
import {
  attendanceOf,
  identityOf,
  summarize,
  type Attendance,
  type PresenceEvent,
} from '../domain/attendance';
import { finalisesAtMs, opensAtMs, type BookingStatus, type Outcome } from '../domain/booking';
import { cancellationTerms, refundPercentOf, type MeetingCanceller } from '../domain/cancellation';
import {
  decideAtFinalisation,
  isReviewDecision,
  planRefund,
  planRelease,
  planReviewDecision,
  planSettlement,
  type SettlementPlan,
} from '../domain/settlement';
import { NotificationMail } from './notification-mail';
import { BEST_EFFORT_CALL, DATABASE_READ, LOCAL_DATABASE_READ, MONEY_MOVEMENT } from './presets';
import {
  attendanceEventSignal,
  BookingRefusal,
  BookingSearchAttributes,
  bookingStateQuery,
  cancelBookingUpdate,
  MAX_ATTENDANCE_EVENTS,
  disputeBookingUpdate,
  resolveReviewUpdate,
  type BookingOutcome,
  type BookingPhase,
  type BookingResume,
  type BookingState,
  type BookingWorkflowInput,
  type CancelRequest,
  type DisputeRequest,
  type ResolveRequest,
} from './shared';

const { openBooking, settleBooking, recordFinalisation, notifyReviewReminder } =
  proxyActivities<BookingActivities>(MONEY_MOVEMENT);
const { closeRoom } = proxyActivities<BookingActivities>(BEST_EFFORT_CALL);
const { storedPresenceEvents } = proxyActivities<BookingActivities>(DATABASE_READ);
const { storedPresenceEvents: storedPresenceEventsLocally, finalisationFacts } =
  proxyLocalActivities<BookingActivities>(LOCAL_DATABASE_READ);

// Changes to running workflows (histories recorded before them replay without them).
/** A room_finished stamped after the end but received before it waits for the end. */
const NOT_BEFORE_THE_END = 'finalise-not-before-the-end';
/** Attendance also counts the room's events stored by the webhook, not only those signalled. */
const STORED_EVENTS = 'attendance-from-stored-events';
/** The booking's notifications are mailed by its run. */
const EMAIL_DELIVERY = 'email-delivery';
/** The stored events are read by a local activity (one workflow task and one server dispatch fewer). */
const STORED_EVENTS_LOCALLY = 'stored-events-local-read';
/** Finalisation also reads whether the meeting was cancelled (before its start) unheard by this booking. */
const FINALISATION_FACTS = 'finalisation-facts';

const HOUR_MS = 3_600_000;
/** Reminders to admins, after which the review just waits. */
const MAX_REVIEW_REMINDERS = 60;
/** A resumed dispute window closes this much later than the stopped run's began plus the window. */
const RESUMED_WINDOW_MARGIN_MS = HOUR_MS;

export async function bookingWorkflow(input: BookingWorkflowInput): Promise<BookingOutcome> {
  const booking = new Booking(input);
  const outcome = await booking.run();
  await booking.closing;
  await booking.mail.drain();
  // Updates answered with this outcome must get to return it before the run ends.
  await condition(allHandlersFinished);
  return outcome;
}

class Booking {
  private readonly startsAtMs: number;
  private readonly endsAtMs: number;
  private readonly identities: { student: string; teacher: string };

  private phase: BookingPhase = 'scheduled';
  private nextDeadlineMs: number | null;
  private readonly events = new Map<string, PresenceEvent>();
  private eventsDropped = false;
  private roomFinishedAfterEnd = false;
  private finalAttendance: Attendance | undefined;
  private cancellation: { request: CancelRequest; plan: SettlementPlan } | undefined;
  private dispute: DisputeRequest | undefined;
  private resolution: ResolveRequest | undefined;
  private outcome: BookingOutcome | undefined;
  /** Closing the LiveKit room, running beside the settlement. */
  closing: Promise<void> = Promise.resolve();
  /** Mailing the notifications the steps record, beside everything else. */
  readonly mail: NotificationMail;

  constructor(private readonly input: BookingWorkflowInput) {
    this.startsAtMs = Date.parse(input.startsAt);
    this.endsAtMs = Date.parse(input.endsAt);
    this.identities = { student: identityOf(input.studentId), teacher: identityOf(input.teacherId) };
    this.nextDeadlineMs = this.openAtMs;
    this.installHandlers();
    this.mail = new NotificationMail(input.bookingId, patched(EMAIL_DELIVERY));
    this.mail.request(); // the confirmation, recorded with the booking
  }

  private get openAtMs(): number {
    return opensAtMs(this.startsAtMs, this.input.policy);
  }

  private get finaliseAtMs(): number {
    return finalisesAtMs(this.endsAtMs, this.input.policy);
  }

  async run(): Promise<BookingOutcome> {
    const { input } = this;
    const { policy } = input;
    if (input.resume !== undefined) return this.resumeJudged(input.resume);

    // 1. Until the class opens, unless it is cancelled first.
    await waitUntil(() => this.cancellation !== undefined, this.openAtMs, 'until the class opens');
    if (this.cancellation !== undefined) return this.settleCancellation();

    const opened = await openBooking({ bookingId: input.bookingId });
    this.mail.request();
    if (opened.meetingCancelled && this.cancellation === undefined) {
      // The meeting was cancelled and this booking's own cancel never arrived (a crash on the
      // way). A result recorded before it named who cancelled says nothing: the teacher, as then.
      this.cancellation = this.meetingCancellation(
        opened.cancelledBy ?? { by: 'teacher', actorId: input.teacherId },
      );
    }
    if (this.cancellation !== undefined) return this.settleCancellation();
    this.phase = 'open';
    this.setStatus('open');

    // 2. The class. Attendance arrives as signals; it may still be cancelled before its start.
    this.nextDeadlineMs = this.finaliseAtMs;
    await waitUntil(
      () => this.cancellation !== undefined || this.roomFinishedAfterEnd,
      this.finaliseAtMs,
      'until finalisation',
    );
    // A room_finished stamped at or after the end cannot finalise before the end
    // itself (a sender's clock running ahead, or a forged time).
    if (this.cancellation === undefined && Date.now() < this.endsAtMs && patched(NOT_BEFORE_THE_END)) {
      await waitUntil(() => this.cancellation !== undefined, this.endsAtMs, 'until the scheduled end');
    }
    if (this.cancellation !== undefined) return this.settleCancellation();

    // 3. Finalisation: attendance over the whole class, then the settlement table.
    this.phase = 'finalising';
    this.nextDeadlineMs = null;
    if (patched(STORED_EVENTS)) {
      // Events stored before this booking existed (a teacher who joined first) or whose
      // signal never arrived (Temporal away when LiveKit called) count too; ids dedupe.
      const room = { meetingId: input.meetingId, studentId: input.studentId, teacherId: input.teacherId };
      if (patched(FINALISATION_FACTS)) {
        const facts = await finalisationFacts(room);
        if (facts.meetingCancelled !== undefined && this.cancellation === undefined) {
          // Cancelled before the start, and every cancel sent to this booking was lost: the
          // teacher's cancellation refunds in full, whatever the attendance says.
          this.cancellation = this.meetingCancellation(facts.meetingCancelled);
          return this.settleCancellation();
        }
        for (const event of facts.events) this.addEvent(event);
      } else {
        const stored = patched(STORED_EVENTS_LOCALLY)
          ? await storedPresenceEventsLocally(room)
          : await storedPresenceEvents(room);
        for (const event of stored) this.addEvent(event);
      }
    }
    const attendance = attendanceOf(this.events.values(), this.identities, {
      startMs: this.startsAtMs,
      endMs: this.endsAtMs,
    });
    this.finalAttendance = attendance;
    const evidence: AttendanceEvidence = {
      ...summarize(attendance),
      studentIntervals: attendance.studentIntervals,
      teacherIntervals: attendance.teacherIntervals,
      eventsDropped: this.eventsDropped,
    };
    const decision = decideAtFinalisation(attendance, policy.attendanceReleasePercent);
    const action = this.eventsDropped ? 'review' : decision.action;
    if (input.closeRoom) {
      // Beside the money, never before it: a LiveKit that will not answer delays nothing.
      this.closing = closeRoom({ meetingId: input.meetingId }).catch(() => undefined);
    }

    if (action === 'refund') {
      return this.settle(planRefund(input.price, policy.teacherSharePercent, decision.outcome), {
        attendance: evidence,
      });
    }
    if (action === 'release' && policy.disputeWindowHours <= 0) {
      return this.settle(planRelease(input.price, policy.teacherSharePercent, decision.outcome), {
        attendance: evidence,
      });
    }
    if (action === 'release') {
      // The student may dispute before the money is released.
      await recordFinalisation({
        bookingId: input.bookingId,
        status: 'completed',
        outcome: decision.outcome,
        attendance: evidence,
      });
      const released = await this.disputeWindow(
        Date.now() + policy.disputeWindowHours * HOUR_MS,
        decision.outcome,
        evidence,
      );
      if (released !== undefined) return released;
    } else {
      await recordFinalisation({
        bookingId: input.bookingId,
        status: 'requires_manual_review',
        outcome: decision.outcome,
        attendance: evidence,
      });
    }
    this.mail.request(); // review required
    return this.review();
  }

  /**
   * The student may dispute until `closesAtMs`: then the release, or, disputed,
   * undefined once the review is recorded. Without `evidence` (a resumed run)
   * the attendance recorded at the finalisation stands.
   */
  private async disputeWindow(
    closesAtMs: number,
    outcome: Outcome,
    evidence: AttendanceEvidence | undefined,
  ): Promise<BookingOutcome | undefined> {
    const { input } = this;
    const attendance = evidence === undefined ? {} : { attendance: evidence };
    this.setStatus('completed');
    this.phase = 'dispute_window';
    this.nextDeadlineMs = closesAtMs;
    await waitUntil(() => this.dispute !== undefined, this.nextDeadlineMs, 'dispute window');
    if (this.dispute === undefined) {
      // The window is closed from here on: a dispute arriving during the release is refused.
      this.phase = 'finalising';
      return this.settle(planRelease(input.price, input.policy.teacherSharePercent, outcome), attendance);
    }
    await recordFinalisation({
      bookingId: input.bookingId,
      status: 'requires_manual_review',
      outcome: 'disputed',
      ...attendance,
      dispute: { reason: this.dispute.reason },
    });
    return undefined;
  }

  /**
   * 4. Review: the money stays held until an admin decides; admins are reminded
   * meanwhile, numbering from `firstReminder` (each number is sent once).
   */
  private async review(firstReminder = 1): Promise<BookingOutcome> {
    const { input } = this;
    const { policy } = input;
    this.phase = 'review';
    this.setStatus('requires_manual_review');
    for (let reminder = firstReminder; reminder <= MAX_REVIEW_REMINDERS; reminder++) {
      this.nextDeadlineMs = Date.now() + policy.reviewReminderHours * HOUR_MS;
      if (await waitUntil(() => this.resolution !== undefined, this.nextDeadlineMs, 'review reminder')) break;
      await notifyReviewReminder({ bookingId: input.bookingId, reminder });
      this.mail.request();
    }
    this.nextDeadlineMs = null;
    await condition(() => this.resolution !== undefined);
    const { adminId, note, review } = this.resolution!;
    return this.settle(planReviewDecision(input.price, policy.teacherSharePercent, review), {
      resolution: { adminId, note: note ?? null },
    });
  }

  /**
   * A run started for a booking whose class was judged by a run that stopped:
   * it takes over the dispute window or the review where the row says it is.
   */
  private async resumeJudged(resume: BookingResume): Promise<BookingOutcome> {
    const { policy } = this.input;
    const sinceMs = Date.parse(resume.since);
    this.nextDeadlineMs = null;
    if (resume.phase === 'review') {
      // The stopped run reminded admins every reviewReminderHours since the review began:
      // this one goes on from the next number (a number already sent would be sent no more).
      const sent = Math.floor((Date.now() - sinceMs) / (policy.reviewReminderHours * HOUR_MS));
      return this.review(Math.max(1, sent + 1));
    }
    // The stopped run's window opened once its step recorded the finalisation (`since`), or a
    // little later if its worker was lost between the step's commit and its run hearing of it:
    // the margin covers that, so the student never has less than the window they were given.
    const closesAtMs = sinceMs + policy.disputeWindowHours * HOUR_MS + RESUMED_WINDOW_MARGIN_MS;
    const released = await this.disputeWindow(closesAtMs, resume.outcome, undefined);
    if (released !== undefined) return released;
    this.mail.request(); // review required
    return this.review();
  }

  private async settle(
    plan: SettlementPlan,
    extra: Omit<SettleInput, 'plan' | 'bookingId'>,
  ): Promise<BookingOutcome> {
    const outcome = await settleBooking({ bookingId: this.input.bookingId, plan, ...extra });
    this.mail.request();
    this.outcome = outcome;
    this.phase = outcome.status === 'cancelled' ? 'cancelled' : 'settled';
    this.nextDeadlineMs = null;
    this.setStatus(outcome.status);
    return outcome;
  }

  /** A meeting's cancellation this booking learns of from the database: a full refund. */
  private meetingCancellation(cancelled: MeetingCanceller): {
    request: CancelRequest;
    plan: SettlementPlan;
  } {
    const { price, policy } = this.input;
    return {
      request: { by: cancelled.by, actorId: cancelled.actorId, reason: 'meeting cancelled' },
      plan: planRefund(
        price,
        policy.teacherSharePercent,
        cancelled.by === 'admin' ? 'cancelled_by_admin' : 'cancelled_by_teacher',
      ),
    };
  }

  private settleCancellation(): Promise<BookingOutcome> {
    const { request, plan } = this.cancellation!;
    return this.settle(plan, { cancellation: { actorId: request.actorId, reason: request.reason ?? null } });
  }

  private setStatus(status: BookingStatus): void {
    upsertSearchAttributes([{ key: BookingSearchAttributes.status, value: status }]);
  }

  private attendanceSoFar(): Attendance {
    if (this.finalAttendance !== undefined) return this.finalAttendance;
    // A class in progress counts up to now (the workflow's clock, deterministic).
    const upTo = Math.min(this.endsAtMs, Math.max(this.startsAtMs + 1, Date.now()));
    const attendance = attendanceOf(this.events.values(), this.identities, {
      startMs: this.startsAtMs,
      endMs: upTo,
    });
    return { ...attendance, classMs: this.endsAtMs - this.startsAtMs };
  }

  private state(): BookingState {
    return {
      phase: this.phase,
      attendance: summarize(this.attendanceSoFar()),
      nextDeadline: this.nextDeadlineMs === null ? null : new Date(this.nextDeadlineMs).toISOString(),
      outcome: this.outcome ?? null,
      eventsReceived: this.events.size,
    };
  }

  private addEvent(event: PresenceEvent): void {
    if (this.events.has(event.id)) return;
    if (this.events.size >= MAX_ATTENDANCE_EVENTS) {
      this.eventsDropped = true;
      return;
    }
    this.events.set(event.id, event);
    if (event.kind === 'room_finished' && event.atMs >= this.endsAtMs) this.roomFinishedAfterEnd = true;
  }

  private installHandlers(): void {
    setHandler(attendanceEventSignal, (event) => this.addEvent(event));

    setHandler(bookingStateQuery, () => this.state());

    setHandler(
      cancelBookingUpdate,
      async (request) => {
        const terms = this.cancelTerms(request);
        this.cancellation = {
          request,
          plan: planSettlement(
            this.input.price,
            this.input.policy.teacherSharePercent,
            terms.refundPercent,
            terms.outcome,
          ),
        };
        await condition(() => this.outcome !== undefined);
        return this.outcome!;
      },
      {
        validator: (request: CancelRequest) => {
          const terms = this.cancelTerms(request);
          // Only here, never in the handler: a cancel accepted by a worker that did not
          // check (an older version) must replay as it ran. Refused only when the person
          // would now get back less than they were shown; better terms go through.
          const shownPercent = refundPercentOf(request.expectedOutcome, this.input.policy);
          if (shownPercent !== undefined && terms.refundPercent < shownPercent) {
            throw ApplicationFailure.nonRetryable(
              `the terms changed: cancelling now is ${terms.outcome} (${terms.refundPercent}% back), not ${request.expectedOutcome}; look at them again`,
              BookingRefusal.termsChanged,
            );
          }
        },
      },
    );

    setHandler(
      disputeBookingUpdate,
      async (request) => {
        this.dispute = request;
        await condition(() => this.phase !== 'dispute_window');
        return this.state();
      },
      {
        validator: (_request) => {
          const open = this.nextDeadlineMs !== null && Date.now() < this.nextDeadlineMs;
          if (this.phase !== 'dispute_window' || this.dispute !== undefined || !open) {
            throw ApplicationFailure.nonRetryable(
              'a booking can be disputed only during its dispute window',
              BookingRefusal.notDisputable,
            );
          }
        },
      },
    );

    setHandler(
      resolveReviewUpdate,
      async (request) => {
        this.resolution = request;
        await condition(() => this.outcome !== undefined);
        return this.outcome!;
      },
      {
        validator: (request: ResolveRequest) => {
          if (this.resolution !== undefined || this.outcome !== undefined) {
            throw ApplicationFailure.nonRetryable(
              'this review is already resolved',
              BookingRefusal.alreadyResolved,
            );
          }
          if (this.phase !== 'review') {
            throw ApplicationFailure.nonRetryable('the booking is not in review', BookingRefusal.notInReview);
          }
          // The API checks it too; a decision sent from elsewhere (a Temporal client) must not
          // be accepted and then break the run when it is carried out.
          if (!isReviewDecision(request.review)) {
            throw ApplicationFailure.nonRetryable(
              'the decision is release, refund, or partial with refundPercent a whole number from 0 to 100',
              BookingRefusal.invalidDecision,
            );
          }
        },
      },
    );
  }

  /** The terms a cancellation asked now would get, or the refusal (validator and handler agree: same task, same clock). */
  private cancelTerms(request: CancelRequest): {
    refundPercent: number;
    outcome: BookingOutcome['outcome'] & string;
  } {
    if (this.cancellation !== undefined) {
      throw ApplicationFailure.nonRetryable(
        'the booking is already being cancelled',
        BookingRefusal.notCancellable,
      );
    }
    if (this.phase !== 'scheduled' && this.phase !== 'open') {
      throw ApplicationFailure.nonRetryable(`the booking is ${this.phase}`, BookingRefusal.notCancellable);
    }
    const terms = cancellationTerms(request.by, judgedAtMs(request), this.startsAtMs, this.input.policy);
    if (!terms.allowed) throw ApplicationFailure.nonRetryable(terms.reason, BookingRefusal.notCancellable);
    return terms;
  }
}

/**
 * When a cancellation is judged: now (the workflow's clock), or, for a meeting's
 * cancellation, when it committed, if that was earlier.
 */
function judgedAtMs(request: CancelRequest): number {
  if (request.by === 'student' || request.meetingCancelledAt === undefined) return Date.now();
  const committedMs = Date.parse(request.meetingCancelledAt);
  return Number.isNaN(committedMs) ? Date.now() : Math.min(Date.now(), committedMs);
}

/** condition(fn) until an absolute time of the workflow clock; answers whether fn became true. */
async function waitUntil(fn: () => boolean, deadlineMs: number, summary: string): Promise<boolean> {
  if (fn()) return true;
  const remainingMs = deadlineMs - Date.now();
  if (remainingMs <= 0) return false;
  return condition(fn, remainingMs, { summary });
}
