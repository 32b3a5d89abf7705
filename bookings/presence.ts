// LiveKit's webhooks: verified, stored once by event id, and routed as
// signals to the booking workflows they concern (SPEC section 5): a student's
// events to that student's booking of the meeting, the teacher's events and
// the room's finish to every booking of the meeting. Unknown rooms and
// identities are acknowledged and ignored.
//
// A repeated delivery is signalled again: if the first delivery stored the
// event but died before signalling, the retry is what gets it through, and
// the workflow ignores an event id it already has.
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import {
  identityOf,
  meetingIdOfRoom,
  roomNameOf,
  userIdOfIdentity,
  type PresenceEvent,
} from '../domain/attendance';
import { MAX_ATTENDANCE_EVENTS } from '../workflows/shared';
import { UnauthorizedError, ValidationError } from '../domain/errors';
import {
  InvalidWebhookError,
  MalformedWebhookError,
  type LiveKit,
  type ReceivedEvent,
} from '../livekit/livekit';
import {
  activeBookingsOfMeeting,
  insertLiveKitEvent,
  markWorkflowStarted,
  roomEvents,
  type BookingRow,
} from './repository';
import { isBeforeFinalisation, type BookingWorkflows } from './workflow-gateway';

export interface PresenceDeps {
  db: Db;
  livekit: LiveKit;
  workflows: BookingWorkflows;
  logger: Logger;
}

export interface WebhookReceipt {
  /**
   * `routed`: signalled to `bookings` workflows; `ignored`: not an event attendance uses, nobody's,
   * or its participant's beyond the number of events a booking keeps (stored, not signalled).
   */
  result: 'routed' | 'ignored';
  duplicate: boolean;
  bookings: number;
}

/** Bookings whose workflow still follows attendance. */
const FOLLOWING_ATTENDANCE = ['confirmed', 'open'] as const;

export async function receiveLiveKitWebhook(
  deps: PresenceDeps,
  rawBody: string,
  authorization: string | undefined,
): Promise<WebhookReceipt> {
  let received: ReceivedEvent;
  try {
    received = await deps.livekit.receiveWebhook(rawBody, authorization);
  } catch (error) {
    if (error instanceof InvalidWebhookError) {
      throw new UnauthorizedError('invalid LiveKit webhook signature');
    }
    if (error instanceof MalformedWebhookError) throw new ValidationError(error.message);
    throw error;
  }
  const { isNew, identityEvents } = await insertLiveKitEvent(
    deps.db,
    {
      id: received.id,
      event: received.event,
      room_name: received.roomName ?? null,
      identity: received.identity ?? null,
      participant_sid: received.participantSid ?? null,
      occurred_at: new Date(received.atMs),
    },
    MAX_ATTENDANCE_EVENTS + 1,
  );
  const ignored: WebhookReceipt = { result: 'ignored', duplicate: !isNew, bookings: 0 };

  const meetingId = received.roomName === undefined ? undefined : meetingIdOfRoom(received.roomName);
  if (received.kind === undefined || meetingId === undefined) return ignored;
  // A booking's run keeps at most MAX_ATTENDANCE_EVENTS events, and is told when there were more
  // (it goes to review); one who connects again and again beyond that is stored, not signalled,
  // so the run's history stays bounded.
  if (identityEvents > MAX_ATTENDANCE_EVENTS) return ignored;
  // No live booking, nothing to route to (an unknown meeting has none). The
  // meeting's teacher is every booking's: its row need not be read.
  let targets = await activeBookingsOfMeeting(deps.db, meetingId, FOLLOWING_ATTENDANCE);
  if (targets.length === 0) return ignored;
  if (received.kind !== 'room_finished') {
    const userId = received.identity === undefined ? undefined : userIdOfIdentity(received.identity);
    if (userId === undefined) return ignored;
    if (userId !== targets[0]!.teacher_id) targets = targets.filter((b) => b.student_id === userId);
  }
  if (targets.length === 0) return ignored;

  const event: PresenceEvent = {
    id: received.id,
    kind: received.kind,
    atMs: received.atMs,
    ...(received.identity === undefined ? {} : { identity: received.identity }),
    ...(received.participantSid === undefined ? {} : { participantSid: received.participantSid }),
  };
  await Promise.all(targets.map((booking) => deliver(deps, booking, event)));
  return { result: 'routed', duplicate: !isNew, bookings: targets.length };
}

async function deliver(deps: PresenceDeps, booking: BookingRow, event: PresenceEvent): Promise<void> {
  const delivered = await deps.workflows.signalAttendance(booking.id, event);
  if (delivered === 'delivered' || !isBeforeFinalisation(booking)) return;
  // A live booking whose workflow has not been started yet, or whose run was stopped (terminated
  // by support staff): start it now, then deliver. A run that settled it is not started again.
  await deps.workflows.start(booking);
  await markWorkflowStarted(deps.db, [booking.id]);
  await deps.workflows.signalAttendance(booking.id, event);
}

const KINDS: Record<string, PresenceEvent['kind']> = {
  participant_joined: 'participant_joined',
  participant_left: 'participant_left',
  room_finished: 'room_finished',
};

/**
 * The meeting's stored events that concern this booking (its student, its
 * teacher, the room's finish), as the workflow takes them: the webhook may
 * have stored events its workflow never got (it did not exist yet, or
 * Temporal was away).
 */
export async function storedPresence(
  db: Db,
  booking: { meetingId: string; studentId: string; teacherId: string },
): Promise<PresenceEvent[]> {
  const rows = await roomEvents(db, roomNameOf(booking.meetingId), {
    identities: [identityOf(booking.studentId), identityOf(booking.teacherId)],
    limit: MAX_ATTENDANCE_EVENTS,
  });
  return rows.flatMap((row) => {
    const kind = KINDS[row.event];
    if (kind === undefined) return [];
    return [
      {
        id: row.id,
        kind,
        atMs: row.occurred_at.getTime(),
        ...(row.identity === null ? {} : { identity: row.identity }),
        ...(row.participant_sid === null ? {} : { participantSid: row.participant_sid }),
      },
    ];
  });
}
