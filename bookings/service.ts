// Bookings as students, teachers and admins ask for them. Creating one is a
// single database transaction (the booking row, its seat and its hold: all or
// nothing), after which its workflow `booking-<id>` is started; should the
// start not happen (a crash, Temporal unreachable), the reconciler starts it
// from the row. Everything a booking does afterwards is decided by its
// workflow: cancel, dispute and resolve are workflow updates, so the caller
// gets the workflow's own answer, 409 included.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db, Trx } from '../db/knex';
import type { Position } from '../db/keyset';
import { identityOf, roomNameOf } from '../domain/attendance';
import {
  finalisesAtMs,
  opensAtMs,
  type BookingStatus,
  type Outcome,
  type ReviewDecision,
} from '../domain/booking';
import { cancellationTerms, type CancellationOutcome, type Canceller } from '../domain/cancellation';
import type { Clock } from '../domain/clock';
import {
  ConflictError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientFundsError,
  NotFoundError,
} from '../domain/errors';
import { splitEvenly } from '../domain/money';
import { planSettlement } from '../domain/settlement';
import { nameUuid } from '../ledger/ids';
import { MAX_CHAIN_LENGTH } from '../ledger/engine';
import { applyChains } from '../ledger/transfers';
import type { LiveKit } from '../livekit/livekit';
import { recordNotifications } from '../notifications/service';
import { findUserById } from '../users/repository';
import type { UserModel } from '../users/user-model';
import { holdTransfer } from './ledger';
import { bookingPolicy, type PolicySettings } from './policy';
import {
  activeBookingsOfMeeting,
  bookingsInReview,
  cancelMeetingRow,
  courseSessions,
  findBooking,
  findCourse,
  findMeeting,
  insertBookings,
  listBookings,
  markWorkflowStartedSoon,
  meetingBookings,
  roomEvents,
  takeSeats,
  type BookingRow,
  type CourseRow,
  type MeetingRow,
  type StoredAttendance,
} from './repository';
import type { WorkflowLinks } from '../temporal-client/workflow-links';
import { bookingViews, type BookingView } from './views';
import type { CancelRequest } from '../workflows/shared';
import { WorkflowGoneError, type BookingWorkflows } from './workflow-gateway';

export interface BookingDeps {
  db: Db;
  clock: Clock;
  currency: string;
  policy: PolicySettings;
  workflows: BookingWorkflows;
  livekit: LiveKit;
  /** Where clients connect to LiveKit (handed out with join tokens). */
  livekitUrl: string;
  logger: Logger;
  /** Links to booking workflows, shown to admins. */
  workflowLinks: WorkflowLinks;
}

type Student = Pick<UserModel, 'id' | 'role' | 'referredByTeacherId'>;
type Actor = Pick<UserModel, 'id' | 'role'>;

const MAX_PAGE = 100;
/** LiveKit events shown with a review, at most. */
const MAX_EVIDENCE_EVENTS = 500;

// ---- creating bookings -------------------------------------------------------

/** Books one meeting (a slot, or one session of a course at its per-session price). */
export async function bookMeeting(
  deps: BookingDeps,
  student: Student,
  input: { meetingId: string; idempotencyKey?: string | undefined },
): Promise<BookingView> {
  const meeting = await findMeeting(deps.db, input.meetingId);
  if (meeting === undefined) throw new NotFoundError('meeting');
  const bookingId =
    input.idempotencyKey === undefined ? randomUUID() : nameUuid('booking', student.id, input.idempotencyKey);
  const [booking] = await createBookings(deps, student, [
    { bookingId, meeting, price: meeting.price, courseId: null },
  ]);
  const [view] = await bookingViews(deps.db, undefined, student, [booking!]);
  return view!;
}

export interface Enrolment {
  courseId: string;
  total: number;
  bookings: BookingView[];
}

/**
 * Enrols in a whole course: every session still to start, at the full-course
 * price split evenly over all its sessions (the remainder on the first), all
 * or nothing. Without a full-course price, each session at its own price.
 */
export async function enrollInCourse(
  deps: BookingDeps,
  student: Student,
  input: { courseId: string; idempotencyKey?: string | undefined },
): Promise<Enrolment> {
  const course = await findCourse(deps.db, input.courseId);
  if (course === undefined) throw new NotFoundError('course');
  const future = enrolmentParts(course, await courseSessions(deps.db, course.id), deps.clock.now());
  if (future.length === 0)
    throw new ConflictError('course_over', 'no session of this course is still to come');
  const enrolmentId = input.idempotencyKey ?? randomUUID();
  const bookings = await createBookings(
    deps,
    student,
    future.map(({ meeting, price }) => ({
      bookingId: nameUuid('enrolment', student.id, course.id, enrolmentId, meeting.id),
      meeting,
      price,
      courseId: course.id,
    })),
  );
  const views = (await bookingViews(deps.db, undefined, student, bookings)).sort((a, b) =>
    a.startsAt.localeCompare(b.startsAt),
  );
  return { courseId: course.id, total: views.reduce((sum, b) => sum + b.price, 0), bookings: views };
}

/**
 * What enrolling at `now` books: every session still to start and not
 * cancelled, each at its part of the full-course price (split over all the
 * course's sessions, the remainder on the first) or, without one, its own.
 */
export function enrolmentParts(
  course: CourseRow,
  sessions: MeetingRow[],
  now: Date,
): { meeting: MeetingRow; price: number }[] {
  const shares =
    course.price_full_course === null
      ? sessions.map(() => course.price_per_session)
      : splitEvenly(course.price_full_course, sessions.length);
  return sessions
    .map((meeting, i) => ({ meeting, price: shares[i]! }))
    .filter(({ meeting }) => meeting.starts_at > now && meeting.status === 'scheduled');
}

interface Wanted {
  bookingId: string;
  meeting: MeetingRow;
  price: number;
  courseId: string | null;
}

/**
 * The bookings, their seats and their holds in one transaction, all or
 * nothing; then their workflows. A repeat with the same booking ids (a
 * retried request whose first run committed) answers the bookings made then.
 */
async function createBookings(deps: BookingDeps, student: Student, wanted: Wanted[]): Promise<BookingRow[]> {
  const now = deps.clock.now();
  for (const { meeting } of wanted) assertBookable(meeting, now);
  const rows = await deps.db.transaction(async (trx) => {
    const inserted = await insertBookings(
      trx,
      wanted.map(({ bookingId, meeting, price, courseId }) => ({
        id: bookingId,
        meeting_id: meeting.id,
        student_id: student.id,
        teacher_id: meeting.teacher_id,
        course_id: courseId,
        price,
        starts_at: meeting.starts_at,
        ends_at: meeting.ends_at,
        policy: bookingPolicy(deps.policy, student.referredByTeacherId === meeting.teacher_id),
      })),
    );
    if (inserted.length < wanted.length) {
      const earlier = await earlierRequestOf(trx, student, wanted, inserted);
      if (earlier === 'another request') throw new IdempotencyKeyReusedError();
      if (earlier !== undefined) return { rows: earlier, replay: true };
      throw new ConflictError('already_booked', 'you already hold a booking of this meeting');
    }
    const seated = new Set(
      await takeSeats(
        trx,
        wanted.map((w) => w.meeting.id),
        now,
      ),
    );
    const unseated = wanted.find((w) => !seated.has(w.meeting.id));
    if (unseated !== undefined) throw await whyNoSeat(trx, unseated.meeting.id, now);

    const holds = wanted.map(({ bookingId, meeting, price }) =>
      holdTransfer(
        { id: bookingId, studentId: student.id, price, title: meeting.title ?? 'class' },
        deps.currency,
      ),
    );
    // A course may hold more sessions than one ledger chain takes: the holds go in chains of at
    // most MAX_CHAIN_LENGTH, and this transaction makes them all or nothing.
    const results = await applyChains(trx, chunked(holds, MAX_CHAIN_LENGTH));
    const hold = results.find((result) => result.status === 'refused');
    if (hold?.status === 'refused') {
      if (hold.reason === 'exceeds_credits') {
        throw new InsufficientFundsError('your available credits do not cover the price');
      }
      if (hold.reason === 'exists_with_different_fields') throw new IdempotencyKeyReusedError();
      throw new Error(`booking hold refused: ${hold.reason}`);
    }
    await recordNotifications(
      trx,
      inserted.flatMap((b) => [
        {
          userId: b.student_id,
          eventKey: `booking_confirmed:${b.id}`,
          type: 'booking_confirmed' as const,
          payload: confirmation(b),
          sourceId: b.id,
        },
        {
          userId: b.teacher_id,
          eventKey: `booking_confirmed:${b.id}`,
          type: 'booking_confirmed' as const,
          payload: confirmation(b),
          sourceId: b.id,
        },
      ]),
    );
    return { rows: inserted, replay: false };
  });
  await startWorkflows(deps, rows.rows);
  return rows.rows;
}

/** `items` in consecutive groups of at most `size`. */
function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function confirmation(b: BookingRow): Record<string, unknown> {
  return {
    bookingId: b.id,
    meetingId: b.meeting_id,
    studentId: b.student_id,
    startsAt: b.starts_at.toISOString(),
    endsAt: b.ends_at.toISOString(),
    price: b.price,
  };
}

function assertBookable(meeting: MeetingRow, now: Date): void {
  if (meeting.status === 'cancelled')
    throw new ConflictError('meeting_cancelled', 'this meeting was cancelled');
  if (meeting.starts_at <= now)
    throw new ConflictError('meeting_started', 'this meeting has already started');
}

async function whyNoSeat(trx: Trx, meetingId: string, now: Date): Promise<ConflictError> {
  const meeting = await findMeeting(trx, meetingId);
  if (meeting !== undefined) {
    if (meeting.status === 'cancelled')
      return new ConflictError('meeting_cancelled', 'this meeting was cancelled');
    if (meeting.starts_at <= now)
      return new ConflictError('meeting_started', 'this meeting has already started');
  }
  return new ConflictError('slot_full', 'no seat is left in this meeting');
}

/** All wanted bookings exist already, made by this student for these meetings: a replay. */
/**
 * Why some bookings were not inserted: an earlier run of this very request (its
 * rows, to answer again), another request under the same Idempotency-Key
 * (its answer purged, the key then reused: booking ids derive from the key),
 * or neither (undefined: the student already holds a booking of a meeting).
 */
async function earlierRequestOf(
  trx: Trx,
  student: Student,
  wanted: Wanted[],
  inserted: BookingRow[],
): Promise<BookingRow[] | 'another request' | undefined> {
  // One query at a time: a transaction is one connection.
  const rows: (BookingRow | undefined)[] = [];
  for (const w of wanted) rows.push(await findBooking(trx, w.bookingId));
  const sameRequest = (row: BookingRow | undefined, i: number) =>
    row !== undefined && row.student_id === student.id && row.meeting_id === wanted[i]!.meeting.id;
  if (inserted.length === 0 && rows.every(sameRequest)) return rows as BookingRow[];
  const takenByOther = rows.some(
    (row, i) => row !== undefined && !inserted.some((b) => b.id === row.id) && !sameRequest(row, i),
  );
  return takenByOther ? 'another request' : undefined;
}

/**
 * Starts the bookings' workflows now. A failure is not the caller's problem:
 * the booking stands, its money is held, and the reconciler starts the workflow.
 */
async function startWorkflows(deps: BookingDeps, rows: BookingRow[]): Promise<void> {
  const started: string[] = [];
  await Promise.all(
    rows.map(async (row) => {
      try {
        await deps.workflows.start(row);
        started.push(row.id);
      } catch (error) {
        deps.logger.warn(
          { err: error, bookingId: row.id },
          'booking workflow not started; the reconciler will',
        );
      }
    }),
  );
  await markWorkflowStartedSoon(deps.db, started).catch((error: unknown) => {
    deps.logger.warn({ err: error }, 'could not mark workflows started; the reconciler will');
  });
}

// ---- reading -----------------------------------------------------------------

/** A booking its student, its teacher or an admin may see; anyone else is told it does not exist. */
async function visibleBooking(deps: BookingDeps, actor: Actor, bookingId: string): Promise<BookingRow> {
  const booking = await findBooking(deps.db, bookingId);
  if (
    booking === undefined ||
    !(actor.role === 'admin' || booking.student_id === actor.id || booking.teacher_id === actor.id)
  ) {
    throw new NotFoundError('booking');
  }
  return booking;
}

export async function getBooking(deps: BookingDeps, actor: Actor, bookingId: string): Promise<BookingView> {
  const [view] = await bookingViews(deps.db, deps.workflowLinks, actor, [
    await visibleBooking(deps, actor, bookingId),
  ]);
  return view!;
}

export interface BookingPage {
  data: BookingView[];
  /** Where the next page starts (older), if there is one. */
  next: { createdAt: string; id: string } | null;
}

/** A student's own bookings, a teacher's bookings of their meetings, or (admins) all; newest first. */
export async function bookingsOf(
  deps: BookingDeps,
  actor: Actor,
  query: { status?: BookingStatus; limit: number; before?: { createdAt: string; id: string } },
): Promise<BookingPage> {
  const limit = Math.min(query.limit, MAX_PAGE);
  const rows = await listBookings(deps.db, {
    ...(actor.role === 'student' ? { studentId: actor.id } : {}),
    ...(actor.role === 'teacher' ? { teacherId: actor.id } : {}),
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.before === undefined ? {} : { before: query.before }),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: await bookingViews(deps.db, deps.workflowLinks, actor, page),
    next: rows.length > limit && last !== undefined ? { createdAt: last.keyset_at, id: last.id } : null,
  };
}

// ---- changing a booking through its workflow ----------------------------------

/** Applies the cancellation policy (decided by the workflow, which may refuse: 409 not_cancellable). */
export async function cancelBooking(
  deps: BookingDeps,
  actor: Actor,
  bookingId: string,
  asked: { reason?: string; expectedOutcome?: CancellationOutcome },
): Promise<BookingView> {
  const booking = await visibleBooking(deps, actor, bookingId);
  if (booking.status !== 'confirmed' && booking.status !== 'open') {
    throw new ConflictError('not_cancellable', `the booking is ${booking.status}`);
  }
  const request: CancelRequest = {
    ...cancelRequestOf(booking, await findMeeting(deps.db, booking.meeting_id), actor, asked.reason),
    ...(asked.expectedOutcome === undefined ? {} : { expectedOutcome: asked.expectedOutcome }),
  };
  await withRunningWorkflow(deps, booking, () => deps.workflows.cancel(bookingId, request));
  return getBooking(deps, actor, bookingId);
}

/** Who a cancellation asked by `actor` is made as: the same for the real cancel and its preview. */
function cancelRequestOf(
  booking: BookingRow,
  meeting: MeetingRow | undefined,
  actor: Actor,
  reason: string | undefined,
): CancelRequest {
  if (meeting?.status === 'cancelled' && meeting.cancelled_by !== null) {
    // The meeting itself is cancelled: whoever asks, its canceller's terms apply (no late fee).
    return {
      by: meeting.cancelled_by === meeting.teacher_id ? 'teacher' : 'admin',
      actorId: meeting.cancelled_by,
      reason: meeting.cancel_reason ?? 'meeting cancelled',
    };
  }
  return {
    by: actor.role === 'admin' ? 'admin' : booking.student_id === actor.id ? 'student' : 'teacher',
    actorId: actor.id,
    ...(reason === undefined ? {} : { reason }),
  };
}

/** Why a booking cannot be cancelled now. */
export type NotCancellableReason = 'already_cancelled' | 'already_settled' | 'in_review' | 'class_started';

export type CancellationPreview =
  | {
      allowed: true;
      /** The terms the caller would cancel under (a cancelled meeting's canceller's, whoever asks). */
      by: Canceller;
      outcome: Outcome;
      refundPercent: number;
      refund: number;
      fee: number;
      feeToTeacher: number;
      feeToPlatform: number;
    }
  | { allowed: false; reason: NotCancellableReason; message: string };

/**
 * What cancelling now would do for `actor`: the workflow's own rule
 * (domain/cancellation.ts) over the policy copied into the booking, and the
 * settlement plan it would carry out. A preview only: the workflow decides
 * when the cancel is asked.
 */
export async function previewCancellation(
  deps: BookingDeps,
  actor: Actor,
  bookingId: string,
): Promise<CancellationPreview> {
  const booking = await visibleBooking(deps, actor, bookingId);
  switch (booking.status) {
    case 'cancelled':
      return { allowed: false, reason: 'already_cancelled', message: 'the booking is cancelled' };
    case 'completed':
      return { allowed: false, reason: 'already_settled', message: 'the class is over and settled' };
    case 'requires_manual_review':
      return { allowed: false, reason: 'in_review', message: 'the booking is waiting for an admin’s review' };
    case 'confirmed':
    case 'open':
      break;
  }
  const { by } = cancelRequestOf(booking, await findMeeting(deps.db, booking.meeting_id), actor, undefined);
  const terms = cancellationTerms(
    by,
    deps.clock.now().getTime(),
    booking.starts_at.getTime(),
    booking.policy,
  );
  if (!terms.allowed) return { allowed: false, reason: 'class_started', message: terms.reason };
  const plan = planSettlement(
    booking.price,
    booking.policy.teacherSharePercent,
    terms.refundPercent,
    terms.outcome,
  );
  return {
    allowed: true,
    by,
    outcome: plan.outcome,
    refundPercent: plan.refundPercent,
    refund: plan.amounts.refund,
    fee: plan.amounts.kept,
    feeToTeacher: plan.amounts.teacher,
    feeToPlatform: plan.amounts.platform,
  };
}

export async function disputeBooking(
  deps: BookingDeps,
  actor: Actor,
  bookingId: string,
  reason: string,
): Promise<BookingView> {
  const booking = await visibleBooking(deps, actor, bookingId);
  if (booking.student_id !== actor.id) throw new ForbiddenError('only the booking’s student may dispute it');
  await withRunningWorkflow(
    deps,
    booking,
    () => deps.workflows.dispute(bookingId, { studentId: actor.id, reason }),
    'not_disputable',
  );
  return getBooking(deps, actor, bookingId);
}

export async function resolveReview(
  deps: BookingDeps,
  admin: Actor,
  bookingId: string,
  input: { review: ReviewDecision; note?: string | undefined },
): Promise<BookingView> {
  const booking = await findBooking(deps.db, bookingId);
  if (booking === undefined) throw new NotFoundError('booking');
  try {
    // A review whose run stopped (terminated, or lost with Temporal's state) gets a run that
    // takes the review over, and hears the decision.
    await withRunningWorkflow(
      deps,
      booking,
      () =>
        deps.workflows.resolve(bookingId, {
          adminId: admin.id,
          review: input.review,
          ...(input.note === undefined ? {} : { note: input.note }),
        }),
      'not_in_review',
    );
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === 'not_in_review')) throw error;
    // Its run finished: resolved by another admin meanwhile, or never in review.
    const now = await findBooking(deps.db, bookingId);
    if (now?.resolved_by !== null && now?.resolved_by !== undefined) {
      throw new ConflictError('already_resolved', 'this review is already resolved');
    }
    throw error;
  }
  const [view] = await bookingViews(deps.db, deps.workflowLinks, admin, [
    (await findBooking(deps.db, bookingId))!,
  ]);
  return view!;
}

/**
 * Runs an update on the booking's workflow. A live booking whose workflow is
 * not running yet (its start is still owed) gets it started first; a finished
 * one refuses with `code`.
 */
async function withRunningWorkflow<T>(
  deps: BookingDeps,
  booking: BookingRow,
  update: () => Promise<T>,
  code = 'not_cancellable',
): Promise<T> {
  try {
    return await update();
  } catch (error) {
    if (!(error instanceof WorkflowGoneError)) throw error;
  }
  const current = await findBooking(deps.db, booking.id);
  if (current === undefined || current.settlement !== 'held' || current.status === 'cancelled') {
    throw new ConflictError(code, `the booking is ${current?.status ?? booking.status}`);
  }
  // Its money is still held, so its workflow should be running: never started (a crash before
  // the start), lost with Temporal's state, or stopped by support staff. A new run takes over
  // from the row; starting is harmless when one runs (one id). Then the update is asked again.
  await startWorkflows(deps, [current]);
  try {
    return await update();
  } catch (error) {
    if (error instanceof WorkflowGoneError) {
      throw new ConflictError(code, `the booking's workflow is not running (booking ${current.status})`);
    }
    throw error;
  }
}

// ---- joining -----------------------------------------------------------------

export interface JoinInfo {
  url: string;
  roomName: string;
  token: string;
}

/** A LiveKit token for the booking's room, to its student or teacher, from open time to the end. */
export async function joinBooking(deps: BookingDeps, actor: Actor, bookingId: string): Promise<JoinInfo> {
  const booking = await visibleBooking(deps, actor, bookingId);
  if (booking.student_id !== actor.id && booking.teacher_id !== actor.id) {
    throw new ForbiddenError('only the booking’s student and teacher may join');
  }
  const now = deps.clock.now();
  const opensAt = new Date(opensAtMs(booking.starts_at, booking.policy));
  if (booking.status !== 'confirmed' && booking.status !== 'open') {
    throw new ConflictError('not_joinable', `the booking is ${booking.status}`);
  }
  if (now < opensAt) throw new ConflictError('not_joinable', `the class opens at ${opensAt.toISOString()}`);
  if (now >= booking.ends_at) throw new ConflictError('not_joinable', 'the class is over');
  // The booking may not have heard yet that its meeting was cancelled.
  if ((await findMeeting(deps.db, booking.meeting_id))?.status === 'cancelled') {
    throw new ConflictError('not_joinable', 'the meeting was cancelled');
  }
  return roomToken(deps, actor, {
    meetingId: booking.meeting_id,
    role: actor.id === booking.teacher_id ? 'teacher' : 'student',
    now,
    validUntil: new Date(finalisesAtMs(booking.ends_at, booking.policy)),
  });
}

/**
 * A LiveKit token for the meeting's room, to its teacher, while a booking of
 * it may be joined: from the earliest opening of its live bookings (each
 * opens by the policy it was booked under) to the end. Students join through
 * their booking; a class nobody holds a booking of has nobody to teach.
 */
export async function joinMeeting(deps: BookingDeps, actor: Actor, meetingId: string): Promise<JoinInfo> {
  const meeting = await findMeeting(deps.db, meetingId);
  if (meeting === undefined) throw new NotFoundError('meeting');
  // Another teacher's meeting is not revealed (as by GET /meetings/:id); the route admits teachers only.
  if (meeting.teacher_id !== actor.id) throw new NotFoundError('meeting');
  if (meeting.status === 'cancelled') throw new ConflictError('not_joinable', 'the meeting was cancelled');
  const now = deps.clock.now();
  if (now >= meeting.ends_at) throw new ConflictError('not_joinable', 'the class is over');
  // The live ones only: a meeting's full list is bounded, and cancelled bookings can fill it.
  const live = await activeBookingsOfMeeting(deps.db, meetingId, ['confirmed', 'open']);
  if (live.length === 0) {
    throw new ConflictError('not_joinable', 'no student holds a booking of this class');
  }
  const opensAt = new Date(Math.min(...live.map((b) => opensAtMs(b.starts_at, b.policy))));
  if (now < opensAt) throw new ConflictError('not_joinable', `the class opens at ${opensAt.toISOString()}`);
  return roomToken(deps, actor, {
    meetingId,
    role: 'teacher',
    now,
    validUntil: new Date(Math.max(...live.map((b) => finalisesAtMs(b.ends_at, b.policy)))),
  });
}

/** A token for room `meeting-<id>` only; the identity is what attendance counts, the name what others see. */
async function roomToken(
  deps: BookingDeps,
  actor: Actor,
  grant: { meetingId: string; role: 'teacher' | 'student'; now: Date; validUntil: Date },
): Promise<JoinInfo> {
  const roomName = roomNameOf(grant.meetingId);
  const person = await findUserById(deps.db, actor.id);
  const token = await deps.livekit.joinToken({
    roomName,
    identity: identityOf(actor.id),
    name: person?.name ?? (grant.role === 'teacher' ? 'Teacher' : 'Student'),
    metadata: JSON.stringify({ role: grant.role }),
    now: grant.now,
    validUntil: grant.validUntil,
  });
  return { url: deps.livekitUrl, roomName, token };
}

// ---- reviews -------------------------------------------------------------------

export interface ReviewItem {
  booking: BookingView;
  reason: string | null;
  disputeReason: string | null;
  evidence: {
    attendance: StoredAttendance | null;
    events: {
      id: string;
      event: string;
      identity: string | null;
      participantSid: string | null;
      at: string;
    }[];
  };
}

export interface ReviewPage {
  data: ReviewItem[];
  /** Where the next page starts (waiting less long), if there is one. */
  next: Position | null;
}

/** Bookings waiting for an admin (or the one asked for, if it waits), the longest waiting first, with what the decision rests on. */
export async function reviewQueue(
  deps: BookingDeps,
  admin: Actor,
  query: { limit: number; after?: Position; bookingId?: string },
): Promise<ReviewPage> {
  const limit = Math.min(query.limit, MAX_PAGE);
  const rows = await bookingsInReview(deps.db, {
    limit: limit + 1,
    ...(query.after === undefined ? {} : { after: query.after }),
    ...(query.bookingId === undefined ? {} : { bookingId: query.bookingId }),
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: await reviewItems(deps, admin, page),
    next: rows.length > limit && last !== undefined ? { at: last.keyset_at, id: last.id } : null,
  };
}

async function reviewItems(deps: BookingDeps, admin: Actor, rows: BookingRow[]): Promise<ReviewItem[]> {
  const views = await bookingViews(deps.db, deps.workflowLinks, admin, rows);
  return Promise.all(
    rows.map(async (row, i) => {
      const events = await roomEvents(deps.db, roomNameOf(row.meeting_id), {
        identities: [identityOf(row.student_id), identityOf(row.teacher_id)],
        limit: MAX_EVIDENCE_EVENTS,
      });
      return {
        booking: views[i]!,
        reason: row.outcome,
        disputeReason: row.dispute_reason,
        evidence: {
          attendance: row.attendance,
          events: events.map((e) => ({
            id: e.id,
            event: e.event,
            identity: e.identity,
            participantSid: e.participant_sid,
            at: e.occurred_at.toISOString(),
          })),
        },
      };
    }),
  );
}

// ---- cancelling a whole meeting ------------------------------------------------

export interface MeetingCancellation {
  meetingId: string;
  bookings: BookingView[];
}

/**
 * Cancels the meeting (before its start) and every booking of it, each
 * refunded in full by its workflow. Asking again re-sends the cancellation to
 * any booking it has not reached (a crash half-way): the call is safe to repeat.
 */
export async function cancelMeeting(
  deps: BookingDeps,
  actor: Actor,
  meetingId: string,
  reason: string | undefined,
): Promise<MeetingCancellation> {
  const meeting = await findMeeting(deps.db, meetingId);
  if (meeting === undefined) throw new NotFoundError('meeting');
  // Someone else's meeting is not revealed (GET /meetings/:id answers them 404 too).
  if (actor.role !== 'admin' && meeting.teacher_id !== actor.id) throw new NotFoundError('meeting');
  const now = deps.clock.now();
  const cancelledNow = await cancelMeetingRow(deps.db, meetingId, {
    now,
    by: actor.id,
    reason: reason ?? null,
  });
  const current = await findMeeting(deps.db, meetingId);
  if (current?.status !== 'cancelled' || current.cancelled_at === null) {
    assert(!cancelledNow, `meeting ${meetingId} was cancelled and is not`);
    throw new ConflictError('not_cancellable', 'the meeting has already started');
  }
  // Judged as of the cancellation's commit (before the start), however late each booking hears of it.
  const meetingCancelledAt = current.cancelled_at.toISOString();
  const live = await activeBookingsOfMeeting(deps.db, meetingId, ['confirmed', 'open']);
  const by = actor.role === 'admin' ? 'admin' : 'teacher';
  await Promise.all(
    live.map(async (booking) => {
      try {
        await withRunningWorkflow(deps, booking, () =>
          deps.workflows.cancel(booking.id, {
            by,
            actorId: actor.id,
            reason: reason ?? 'meeting cancelled',
            meetingCancelledAt,
          }),
        );
      } catch (error) {
        // Cancelled meanwhile, or finalised already: nothing is left to cancel.
        if (!(error instanceof ConflictError)) throw error;
      }
    }),
  );
  return {
    meetingId,
    bookings: await bookingViews(
      deps.db,
      deps.workflowLinks,
      actor,
      await meetingBookings(deps.db, meetingId),
    ),
  };
}
