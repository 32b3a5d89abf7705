// The steps a booking's workflow takes, each one database transaction: the
// booking row, its ledger transfers and its notifications change together or
// not at all. Each step is idempotent: run again after it committed (an
// activity retried after a crash), it finds its work done and answers the same.
import assert from 'node:assert/strict';
import type { Db, Trx } from '../db/knex';
import type { Outcome } from '../domain/booking';
import type { SettlementPlan } from '../domain/settlement';
import { createTransfers } from '../ledger/transfers';
import { forAdmins, recordNotifications } from '../notifications/service';
import type { NewNotification } from '../notifications/types';
import type { BookingOutcome } from '../workflows/shared';
import { settlementChain } from './ledger';
import { storedPresence } from './presence';
import type { PresenceEvent } from '../domain/attendance';
import { meetingCanceller, type MeetingCanceller } from '../domain/cancellation';
import { amountsOf, attendanceSummary } from './views';
import {
  lockBooking,
  findMeeting,
  lockBookingWithMeeting,
  markOpen,
  recordFinalisationRow,
  recordSettlement,
  releaseSeat,
  type BookingRow,
  type StoredAttendance,
} from './repository';

export interface StepDeps {
  db: Db;
  currency: string;
  /** Base URL of the app, for links in notifications. */
  publicUrl: string;
}

function bookingFacts(booking: BookingRow): Record<string, unknown> {
  return {
    bookingId: booking.id,
    meetingId: booking.meeting_id,
    startsAt: booking.starts_at.toISOString(),
    endsAt: booking.ends_at.toISOString(),
    price: booking.price,
  };
}

async function lockedBooking(trx: Trx, bookingId: string): Promise<BookingRow> {
  const booking = await lockBooking(trx, bookingId);
  // The workflow exists only for a booking committed before it started.
  assert(booking !== undefined, `booking ${bookingId} does not exist`);
  return booking;
}

/** The class opens: joinable, its participants told (with the join link). */
export interface OpenStepResult {
  meetingCancelled: boolean;
  /** Who cancelled the meeting (absent from results recorded before it was given). */
  cancelledBy?: MeetingCanceller;
}

export interface FinalisationFacts {
  /** The room's stored LiveKit events that concern the booking. */
  events: PresenceEvent[];
  /** Set when the meeting was cancelled (always before its start): who cancelled it. */
  meetingCancelled?: MeetingCanceller;
}

/**
 * What finalisation reads besides the signals: the stored events (a teacher
 * who joined before the booking existed, a signal lost while Temporal was
 * away), and whether the meeting was cancelled without the booking hearing
 * of it (its cancel and every re-sent one lost).
 */
export async function finalisationFactsStep(
  db: Db,
  booking: { meetingId: string; studentId: string; teacherId: string },
): Promise<FinalisationFacts> {
  const [events, meeting] = await Promise.all([
    storedPresence(db, booking),
    findMeeting(db, booking.meetingId),
  ]);
  if (meeting?.status !== 'cancelled' || meeting.cancelled_by === null) return { events };
  return { events, meetingCancelled: meetingCanceller(meeting.cancelled_by, booking.teacherId) };
}

export async function openBookingStep(deps: StepDeps, bookingId: string): Promise<OpenStepResult> {
  return deps.db.transaction(async (trx) => {
    const locked = await lockBookingWithMeeting(trx, bookingId);
    // The workflow exists only for a booking committed before it started.
    assert(locked !== undefined, `booking ${bookingId} does not exist`);
    const { booking, meeting } = locked;
    if (meeting.status === 'cancelled') {
      return {
        meetingCancelled: true,
        cancelledBy: meetingCanceller(meeting.cancelled_by!, booking.teacher_id),
      };
    }
    if (booking.status !== 'confirmed') return { meetingCancelled: false }; // opened before
    await markOpen(trx, bookingId);
    // The console's class room, which joins the class in the browser (the API's
    // GET /bookings/:id/join hands the same token to other clients).
    const joinUrl = `${deps.publicUrl}/console/bookings/${bookingId}/class`;
    const facts = { ...bookingFacts(booking), title: meeting.title, joinUrl };
    await recordNotifications(trx, [
      {
        userId: booking.student_id,
        eventKey: `class_opening:${bookingId}`,
        type: 'class_opening',
        payload: facts,
        sourceId: bookingId,
      },
      // The teacher hears once per meeting, however many students booked it; their
      // link is the class's page, whose class room joins the class's own room
      // (GET /meetings/:id/join), not this booking's (it may be cancelled before the start).
      {
        userId: booking.teacher_id,
        eventKey: `class_opening:${booking.meeting_id}`,
        type: 'class_opening',
        payload: {
          ...facts,
          bookingId: undefined,
          joinUrl: `${deps.publicUrl}/console/meetings/${booking.meeting_id}`,
        },
        // Mailed by the workflow of the booking that recorded it first.
        sourceId: bookingId,
      },
    ]);
    return { meetingCancelled: false };
  });
}

export interface SettleStepInput {
  bookingId: string;
  plan: SettlementPlan;
  attendance?: StoredAttendance;
  cancellation?: { actorId: string; reason: string | null };
  resolution?: { adminId: string; note: string | null };
}

/** Moves the held money as planned and records where it went, once. */
export async function settleBookingStep(deps: StepDeps, input: SettleStepInput): Promise<BookingOutcome> {
  const { plan } = input;
  return deps.db.transaction(async (trx) => {
    const locked = await lockBookingWithMeeting(trx, input.bookingId);
    assert(locked !== undefined, `booking ${input.bookingId} does not exist`);
    const { booking, meeting } = locked;
    if (booking.settlement !== 'held') {
      // Settled before: this is a retry of the step that did it (only the workflow settles).
      assert.equal(booking.outcome, plan.outcome, `booking ${booking.id} was settled differently`);
      return outcomeOf(booking);
    }
    const cancelled = input.cancellation !== undefined;
    // A cancelled booking gives its seat back. The meeting row is locked before the
    // ledger rows, in the order booking creation takes them: the two never deadlock.
    if (cancelled) await releaseSeat(trx, booking.meeting_id);
    const result = await createTransfers(
      trx,
      settlementChain(
        // The class's name, as the hold's line shows it, for a refund's line.
        {
          id: booking.id,
          teacherId: booking.teacher_id,
          ...(meeting.title === null ? {} : { title: meeting.title }),
        },
        plan,
        deps.currency,
      ),
    );
    assert(
      result.status !== 'refused',
      `settlement of booking ${booking.id} refused: ${JSON.stringify(result)}`,
    );

    const status = cancelled ? 'cancelled' : 'completed';
    const settled = await recordSettlement(trx, booking.id, {
      status,
      settlement: plan.settlement,
      outcome: plan.outcome,
      refunded: plan.amounts.refund,
      teacher: plan.amounts.teacher,
      platform: plan.amounts.platform,
      ...(input.attendance === undefined ? {} : { attendance: input.attendance }),
      ...(input.cancellation === undefined
        ? {}
        : { cancelledBy: input.cancellation.actorId, cancelReason: input.cancellation.reason }),
      ...(input.resolution === undefined
        ? {}
        : { resolvedBy: input.resolution.adminId, reviewNote: input.resolution.note }),
    });
    assert(settled, 'the locked booking was held');

    await recordNotifications(trx, settlementNotifications(booking, plan, input));
    return {
      bookingId: booking.id,
      status,
      settlement: plan.settlement,
      outcome: plan.outcome,
      amounts: {
        refunded: plan.amounts.refund,
        teacher: plan.amounts.teacher,
        platform: plan.amounts.platform,
      },
    };
  });
}

function settlementNotifications(
  booking: BookingRow,
  plan: SettlementPlan,
  input: SettleStepInput,
): NewNotification[] {
  const facts = {
    ...bookingFacts(booking),
    outcome: plan.outcome,
    refunded: plan.amounts.refund,
    teacherEarned: plan.amounts.teacher,
  };
  const notes: NewNotification[] = [];
  if (input.resolution !== undefined) {
    for (const userId of [booking.student_id, booking.teacher_id]) {
      notes.push({
        userId,
        eventKey: `review_resolved:${booking.id}`,
        type: 'review_resolved',
        payload: facts,
        sourceId: booking.id,
      });
    }
  }
  if (input.cancellation !== undefined) {
    for (const userId of [booking.student_id, booking.teacher_id]) {
      notes.push({
        userId,
        eventKey: `booking_cancelled:${booking.id}`,
        type: 'booking_cancelled',
        payload: facts,
        sourceId: booking.id,
      });
    }
  } else if (plan.amounts.refund > 0 && input.resolution === undefined) {
    notes.push({
      userId: booking.student_id,
      eventKey: `booking_refunded:${booking.id}`,
      type: 'booking_refunded',
      payload: facts,
      sourceId: booking.id,
    });
  }
  if (plan.amounts.teacher > 0) {
    notes.push({
      userId: booking.teacher_id,
      eventKey: `payment_released:${booking.id}`,
      type: 'payment_released',
      payload: facts,
      sourceId: booking.id,
    });
  }
  return notes;
}

export interface FinalisationStepInput {
  bookingId: string;
  status: 'completed' | 'requires_manual_review';
  outcome: Outcome;
  /** Absent from a resumed run's dispute: the attendance recorded at the finalisation stands. */
  attendance?: StoredAttendance;
  dispute?: { reason: string };
}

/** Records attendance and the decision while the money stays held (dispute window, or review). */
export async function recordFinalisationStep(deps: StepDeps, input: FinalisationStepInput): Promise<void> {
  await deps.db.transaction(async (trx) => {
    const booking = await lockedBooking(trx, input.bookingId);
    if (booking.settlement !== 'held' || booking.status === input.status) return; // recorded before
    const attendance = input.attendance ?? booking.attendance;
    assert(attendance !== null, `booking ${booking.id} has no attendance recorded to keep`);
    const changed = await recordFinalisationRow(trx, booking.id, {
      status: input.status,
      outcome: input.outcome,
      attendance,
      ...(input.dispute === undefined ? {} : { disputeReason: input.dispute.reason }),
    });
    assert(changed, `booking ${booking.id} could not move to ${input.status} from ${booking.status}`);
    if (input.status === 'requires_manual_review') {
      await recordNotifications(
        trx,
        await forAdmins(trx, {
          eventKey: `review_required:${booking.id}`,
          type: 'review_required',
          sourceId: booking.id,
          payload: {
            ...bookingFacts(booking),
            outcome: input.outcome,
            attendance: attendanceSummary(attendance),
          },
        }),
      );
    }
  });
}

/** Reminds every admin of a booking still waiting in review (once per reminder number). */
export async function reviewReminderStep(deps: StepDeps, bookingId: string, reminder: number): Promise<void> {
  await deps.db.transaction(async (trx) => {
    const booking = await lockedBooking(trx, bookingId);
    if (booking.status !== 'requires_manual_review') return;
    await recordNotifications(
      trx,
      await forAdmins(trx, {
        eventKey: `review_reminder:${bookingId}:${reminder}`,
        type: 'review_reminder',
        sourceId: bookingId,
        payload: { ...bookingFacts(booking), outcome: booking.outcome, reminder },
      }),
    );
  });
}

export function outcomeOf(booking: BookingRow): BookingOutcome {
  return {
    bookingId: booking.id,
    status: booking.status,
    settlement: booking.settlement,
    outcome: booking.outcome,
    amounts: amountsOf(booking),
  };
}
