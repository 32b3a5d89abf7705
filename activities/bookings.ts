// Activities of the booking workflow: each carries out a decision the
// workflow took, as one idempotent database step (bookings/steps.ts), or
// closes the LiveKit room.
import type { Logger } from 'pino';
import {
  finalisationFactsStep,
  openBookingStep,
  recordFinalisationStep,
  reviewReminderStep,
  settleBookingStep,
  type FinalisationStepInput,
  type SettleStepInput,
  type StepDeps,
} from '../bookings/steps';
import { storedPresence } from '../bookings/presence';
import type { StoredAttendance } from '../bookings/repository';
import { roomNameOf } from '../domain/attendance';
import type { LiveKit } from '../livekit/livekit';
import { refusalsAreFinal } from './refusals';

export type AttendanceEvidence = StoredAttendance;
export type SettleInput = SettleStepInput;
export type FinalisationInput = FinalisationStepInput;

export interface BookingActivityDeps extends StepDeps {
  livekit: LiveKit;
  logger: Logger;
}

export function createBookingActivities(deps: BookingActivityDeps) {
  return {
    /** The class opens: the booking becomes joinable and its participants are notified. */
    openBooking: (input: { bookingId: string }) =>
      refusalsAreFinal(() => openBookingStep(deps, input.bookingId)),

    /** Moves the held money as the workflow decided, with the booking row, in one transaction. */
    settleBooking: (input: SettleInput) => refusalsAreFinal(() => settleBookingStep(deps, input)),

    /** Records attendance and the decision while the money stays held (dispute window, review). */
    recordFinalisation: (input: FinalisationInput) =>
      refusalsAreFinal(() => recordFinalisationStep(deps, input)),

    notifyReviewReminder: (input: { bookingId: string; reminder: number }) =>
      refusalsAreFinal(() => reviewReminderStep(deps, input.bookingId, input.reminder)),

    /** The room's stored LiveKit events that concern this booking (finalisation of runs before finalisationFacts). */
    storedPresenceEvents: (input: { meetingId: string; studentId: string; teacherId: string }) =>
      storedPresence(deps.db, input),

    /** Finalisation's reads: the stored events, and whether the meeting was cancelled unheard. */
    finalisationFacts: (input: { meetingId: string; studentId: string; teacherId: string }) =>
      finalisationFactsStep(deps.db, input),

    /** Closes the meeting's LiveKit room (a room already gone is fine). */
    closeRoom: async (input: { meetingId: string }): Promise<void> => {
      try {
        await deps.livekit.closeRoom(roomNameOf(input.meetingId));
      } catch (error) {
        deps.logger.warn({ err: error, meetingId: input.meetingId }, 'could not close the LiveKit room');
        throw error;
      }
    },
  };
}

export type BookingActivities = ReturnType<typeof createBookingActivities>;
