// One function per database operation on meetings, courses and bookings; each
// takes the connection or transaction to run in. State changes are
// compare-and-set (`where status = ?`), and the caller checks what changed.
import type { Conn, Db } from '../db/knex';
import { KEYSET_TIME, keysetTime, OLDER_THAN_KEYSET, type Position } from '../db/keyset';
import { markWorkflowsStarted, markWorkflowsStartedSoon } from '../db/workflow-started';
import type { AttendanceSummary, BookingPolicy, BookingStatus, Outcome, Settlement } from '../domain/booking';
import type { Interval } from '../domain/attendance';

export interface MeetingRow {
  id: string;
  teacher_id: string;
  course_id: string | null;
  title: string | null;
  starts_at: Date;
  ends_at: Date;
  price: number;
  capacity: number;
  seats_taken: number;
  status: 'scheduled' | 'cancelled';
  cancelled_at: Date | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
  created_at: Date;
}

export interface CourseRow {
  id: string;
  teacher_id: string;
  title: string;
  description: string | null;
  capacity: number;
  price_per_session: number;
  price_full_course: number | null;
  created_at: Date;
}

export interface StoredAttendance extends AttendanceSummary {
  studentIntervals: Interval[];
  teacherIntervals: Interval[];
  eventsDropped: boolean;
}

export interface BookingRow {
  id: string;
  meeting_id: string;
  student_id: string;
  teacher_id: string;
  course_id: string | null;
  price: number;
  starts_at: Date;
  ends_at: Date;
  status: BookingStatus;
  settlement: Settlement;
  outcome: Outcome | null;
  policy: BookingPolicy;
  attendance: StoredAttendance | null;
  refunded_amount: number | null;
  teacher_amount: number | null;
  platform_amount: number | null;
  workflow_started: boolean;
  cancelled_by: string | null;
  cancel_reason: string | null;
  dispute_reason: string | null;
  resolved_by: string | null;
  review_note: string | null;
  created_at: Date;
  updated_at: Date;
}

// ---- meetings and courses ----------------------------------------------------

export async function insertCourse(conn: Conn, course: Omit<CourseRow, 'created_at'>): Promise<CourseRow> {
  const [row] = await conn<CourseRow>('courses').insert(course).returning('*');
  return row!;
}

export async function findCourse(conn: Conn, id: string): Promise<CourseRow | undefined> {
  return conn<CourseRow>('courses').where({ id }).first();
}

export async function insertMeetings(
  conn: Conn,
  meetings: Omit<
    MeetingRow,
    'created_at' | 'seats_taken' | 'status' | 'cancelled_at' | 'cancelled_by' | 'cancel_reason'
  >[],
): Promise<MeetingRow[]> {
  return conn<MeetingRow>('meetings').insert(meetings).returning('*');
}

export async function findMeeting(conn: Conn, id: string): Promise<MeetingRow | undefined> {
  return conn<MeetingRow>('meetings').where({ id }).first();
}

export async function courseSessions(conn: Conn, courseId: string): Promise<MeetingRow[]> {
  return conn<MeetingRow>('meetings')
    .where({ course_id: courseId })
    .orderBy([{ column: 'starts_at' }, 'id']);
}

/** A teacher's meetings starting within [from, to), oldest first, at most `limit`. */
export async function teacherMeetings(
  conn: Conn,
  teacherId: string,
  window: { from: Date; to: Date; limit: number },
): Promise<MeetingRow[]> {
  return conn<MeetingRow>('meetings')
    .where({ teacher_id: teacherId, status: 'scheduled' })
    .andWhere('starts_at', '>=', window.from)
    .andWhere('starts_at', '<', window.to)
    .orderBy([{ column: 'starts_at' }, 'id'])
    .limit(window.limit);
}

/**
 * Takes one seat of each meeting, all or nothing, if each is scheduled,
 * starts after `now` and has a seat left: the capacity check and the write
 * are one statement, so concurrent bookings can never overfill a meeting.
 * Answers the meetings that got a seat.
 */
export async function takeSeats(conn: Conn, meetingIds: string[], now: Date): Promise<string[]> {
  // Lock the rows in one order first, so two enrolments in one course never
  // deadlock; NO KEY UPDATE, as the update itself takes: it does not conflict
  // with the KEY SHARE lock a booking row's foreign key takes on its meeting.
  // One meeting (a booking) has no order to keep: the update takes that same
  // lock itself, and the round trip is saved.
  if (new Set(meetingIds).size > 1) {
    await conn('meetings').whereIn('id', meetingIds).orderBy('id').forNoKeyUpdate().select('id');
  }
  const rows = await conn('meetings')
    .whereIn('id', meetingIds)
    .andWhere({ status: 'scheduled' })
    .andWhere('starts_at', '>', now)
    .andWhereRaw('seats_taken < capacity')
    .increment('seats_taken', 1)
    .returning('id');
  return (rows as { id: string }[]).map((r) => r.id);
}

export async function releaseSeat(conn: Conn, meetingId: string): Promise<void> {
  const released = await conn('meetings')
    .where({ id: meetingId })
    .andWhere('seats_taken', '>', 0)
    .decrement('seats_taken', 1);
  if (released !== 1) throw new Error(`meeting ${meetingId} had no seat to release`);
}

/** scheduled -> cancelled, only before the start; answers whether this call cancelled it. */
export async function cancelMeetingRow(
  conn: Conn,
  meetingId: string,
  change: { now: Date; by: string; reason: string | null },
): Promise<boolean> {
  const changed = await conn('meetings')
    .where({ id: meetingId, status: 'scheduled' })
    .andWhere('starts_at', '>', change.now)
    .update({
      status: 'cancelled',
      cancelled_at: change.now,
      cancelled_by: change.by,
      cancel_reason: change.reason,
    });
  return changed === 1;
}

// ---- bookings ----------------------------------------------------------------

export type NewBooking = Pick<
  BookingRow,
  | 'id'
  | 'meeting_id'
  | 'student_id'
  | 'teacher_id'
  | 'course_id'
  | 'price'
  | 'starts_at'
  | 'ends_at'
  | 'policy'
>;

/**
 * Inserts the bookings, except those whose id exists or whose student already
 * holds a live booking of the meeting; answers the rows inserted.
 */
export async function insertBookings(conn: Conn, bookings: NewBooking[]): Promise<BookingRow[]> {
  return (await conn('bookings')
    .insert(bookings.map((b) => ({ ...b, policy: JSON.stringify(b.policy) })))
    .onConflict()
    .ignore()
    .returning('*')) as BookingRow[];
}

export async function findBooking(conn: Conn, id: string): Promise<BookingRow | undefined> {
  return conn<BookingRow>('bookings').where({ id }).first();
}

/** What people call a booking's class and its two sides (the booking row holds only ids). */
export interface BookingNames {
  /** The meeting's title, or its course's for a course session; null for an untitled slot. */
  title: string | null;
  teacherName: string;
  studentName: string;
}

/** The names of these bookings (at most a page of them), by booking id. */
export async function bookingNames(conn: Conn, ids: string[]): Promise<Map<string, BookingNames>> {
  if (ids.length === 0) return new Map();
  const rows: (BookingNames & { id: string })[] = await conn('bookings as b')
    .join('meetings as m', 'm.id', 'b.meeting_id')
    .leftJoin('courses as c', 'c.id', 'm.course_id')
    .join('users as t', 't.id', 'b.teacher_id')
    .join('users as s', 's.id', 'b.student_id')
    .whereIn('b.id', ids)
    .select(
      'b.id',
      conn.raw('coalesce(m.title, c.title) as title'),
      't.name as teacherName',
      's.name as studentName',
    );
  return new Map(rows.map(({ id, ...names }) => [id, names]));
}

export async function findBookings(conn: Conn, ids: string[]): Promise<BookingRow[]> {
  return conn<BookingRow>('bookings').whereIn('id', ids);
}

/**
 * The booking, locked as `lockBooking` locks it, with its meeting's status and
 * title read in the same statement (the meeting row is not locked).
 */
export async function lockBookingWithMeeting(
  conn: Conn,
  id: string,
): Promise<
  { booking: BookingRow; meeting: Pick<MeetingRow, 'status' | 'title' | 'cancelled_by'> } | undefined
> {
  type Row = BookingRow & {
    meeting_status: MeetingRow['status'];
    meeting_title: MeetingRow['title'];
    meeting_cancelled_by: MeetingRow['cancelled_by'];
  };
  const row = await conn<Row>('bookings as b')
    .join('meetings as m', 'm.id', 'b.meeting_id')
    .where('b.id', id)
    .forUpdate('b')
    .first<Row | undefined>(
      'b.*',
      'm.status as meeting_status',
      'm.title as meeting_title',
      'm.cancelled_by as meeting_cancelled_by',
    );
  if (row === undefined) return undefined;
  const {
    meeting_status: status,
    meeting_title: title,
    meeting_cancelled_by: cancelled_by,
    ...booking
  } = row;
  return { booking, meeting: { status, title, cancelled_by } };
}

/** The booking, locked until the transaction ends (settlements of one booking take turns). */
export async function lockBooking(conn: Conn, id: string): Promise<BookingRow | undefined> {
  return conn<BookingRow>('bookings').where({ id }).forUpdate().first();
}

export async function liveBookingOf(
  conn: Conn,
  meetingId: string,
  studentId: string,
): Promise<BookingRow | undefined> {
  return conn<BookingRow>('bookings')
    .where({ meeting_id: meetingId, student_id: studentId })
    .whereNot({ status: 'cancelled' })
    .first();
}

/**
 * A meeting's bookings (or one student's of it), oldest first: every one not
 * cancelled (each holds a seat, so at most the capacity) and the latest
 * cancelled ones. However often a seat was booked and cancelled, the bookings
 * holding seats are always among them.
 */
export async function meetingBookings(
  conn: Conn,
  meetingId: string,
  studentId?: string,
): Promise<BookingRow[]> {
  const ofMeeting = () => {
    const query = conn<BookingRow>('bookings').where({ meeting_id: meetingId });
    return studentId === undefined ? query : query.andWhere({ student_id: studentId });
  };
  const live = await ofMeeting()
    .whereNot({ status: 'cancelled' })
    .orderBy([{ column: 'created_at' }, 'id'])
    .limit(MAX_BOOKINGS_SHOWN_PER_MEETING);
  const cancelled = await ofMeeting()
    .where({ status: 'cancelled' })
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(MAX_BOOKINGS_SHOWN_PER_MEETING - live.length);
  return [...live, ...cancelled].sort(
    (a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id),
  );
}

/** Capacity is at most 50; the rest of the bound is room for cancelled bookings. */
export const MAX_BOOKINGS_SHOWN_PER_MEETING = 200;

/** Bookings of a meeting whose workflow may still act on an event or a cancellation. */
export async function activeBookingsOfMeeting(
  conn: Conn,
  meetingId: string,
  statuses: readonly BookingStatus[],
): Promise<BookingRow[]> {
  return conn<BookingRow>('bookings')
    .where({ meeting_id: meetingId })
    .whereIn('status', statuses)
    .orderBy('id')
    .limit(100);
}

export interface BookingFilter {
  studentId?: string;
  teacherId?: string;
  status?: BookingStatus;
  /** Keyset cursor: strictly older than this (created_at to the microsecond, id). */
  before?: { createdAt: string; id: string };
  limit: number;
}

export async function listBookings(
  conn: Conn,
  filter: BookingFilter,
): Promise<(BookingRow & { keyset_at: string })[]> {
  const query = conn<BookingRow>('bookings');
  if (filter.studentId !== undefined) void query.where({ student_id: filter.studentId });
  if (filter.teacherId !== undefined) void query.where({ teacher_id: filter.teacherId });
  if (filter.status !== undefined) void query.where({ status: filter.status });
  if (filter.before !== undefined) {
    void query.whereRaw(OLDER_THAN_KEYSET, [filter.before.createdAt, filter.before.id]);
  }
  return query
    .select('*', conn.raw(`${KEYSET_TIME} as keyset_at`))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(filter.limit);
}

/** Bookings in review, the longest waiting first (updated_at, as finalisation left it, then id). */
export async function bookingsInReview(
  conn: Conn,
  page: { limit: number; after?: Position; bookingId?: string },
): Promise<(BookingRow & { keyset_at: string })[]> {
  const query = conn<BookingRow>('bookings').where({ status: 'requires_manual_review' });
  if (page.bookingId !== undefined) void query.where({ id: page.bookingId });
  if (page.after !== undefined) {
    void query.whereRaw('(updated_at, id) > (?::timestamptz, ?::uuid)', [page.after.at, page.after.id]);
  }
  return query
    .select('*', conn.raw(`${keysetTime('updated_at')} as keyset_at`))
    .orderBy([{ column: 'updated_at' }, 'id'])
    .limit(page.limit);
}

/**
 * Bookings whose class ended more than `endedBefore` ago but whose money is
 * still held without a review: their workflow should have settled them, so it
 * is missing (Temporal's state was lost), stopped (terminated by support
 * staff, or failed) or stuck. Bounded.
 */
export async function overdueHeldBookings(
  conn: Conn,
  endedBefore: Date,
  limit: number,
): Promise<BookingRow[]> {
  return conn<BookingRow>('bookings')
    .where({ settlement: 'held' })
    .whereIn('status', ['confirmed', 'open'])
    .andWhere('ends_at', '<', endedBefore)
    .orderBy('ends_at')
    .limit(limit);
}

/** Held in a dispute window that closed before `closedBefore` (each by its own policy's window). */
export async function overdueReleases(conn: Conn, closedBefore: Date, limit: number): Promise<BookingRow[]> {
  return (
    conn<BookingRow>('bookings')
      .where({ settlement: 'held', status: 'completed' })
      // The first bound takes the index; the window is never negative.
      .andWhere('ends_at', '<', closedBefore)
      .andWhereRaw(`ends_at + make_interval(hours => (policy->>'disputeWindowHours')::int) < ?`, [
        closedBefore,
      ])
      .orderBy('ends_at')
      .limit(limit)
  );
}

/**
 * Live bookings of cancelled meetings whose cancellation did not get through.
 * A meeting is cancelled only before its start, so its bookings are owed a full
 * refund until their workflows finalise them, after the start too; the window
 * looked at reaches back further than a class, its grace and a margin last.
 */
export async function uncancelledBookingsOfCancelledMeetings(
  conn: Conn,
  now: Date,
  limit: number,
): Promise<(BookingRow & { meeting_cancelled_by: string; meeting_cancelled_at: Date })[]> {
  return (
    conn('bookings as b')
      .join('meetings as m', 'm.id', 'b.meeting_id')
      .where('m.status', 'cancelled')
      // A bounded range of meetings_cancelled_idx: older ones have been finalised.
      .andWhere('m.starts_at', '>', new Date(now.getTime() - CANCELLED_MEETINGS_LOOKBACK_MS))
      .whereIn('b.status', ['confirmed', 'open'])
      .andWhere('b.workflow_started', true)
      .select('b.*', 'm.cancelled_by as meeting_cancelled_by', 'm.cancelled_at as meeting_cancelled_at')
      .orderBy('b.starts_at')
      .limit(limit)
  );
}

/** Longer than the longest class (8 hours) and any end grace a booking is judged by. */
const CANCELLED_MEETINGS_LOOKBACK_MS = 2 * 24 * 60 * 60_000;

export function markWorkflowStarted(conn: Conn, ids: string[]): Promise<void> {
  return markWorkflowsStarted(conn, 'bookings', ids);
}

/** markWorkflowStarted on the pool, in one statement with the marks of concurrent requests. */
export function markWorkflowStartedSoon(db: Db, ids: string[]): Promise<void> {
  return markWorkflowsStartedSoon(db, 'bookings', ids);
}

/** confirmed -> open; answers whether it changed. */
export async function markOpen(conn: Conn, id: string): Promise<boolean> {
  const changed = await conn('bookings')
    .where({ id, status: 'confirmed' })
    .update({ status: 'open', updated_at: conn.fn.now() });
  return changed === 1;
}

export async function recordFinalisationRow(
  conn: Conn,
  id: string,
  change: {
    status: 'completed' | 'requires_manual_review';
    outcome: Outcome;
    attendance: StoredAttendance;
    disputeReason?: string;
  },
): Promise<boolean> {
  const changed = await conn('bookings')
    .where({ id, settlement: 'held' })
    .whereIn('status', ['confirmed', 'open', 'completed'])
    .update({
      status: change.status,
      outcome: change.outcome,
      attendance: JSON.stringify(change.attendance),
      ...(change.disputeReason === undefined ? {} : { dispute_reason: change.disputeReason }),
      updated_at: conn.fn.now(),
    });
  return changed === 1;
}

export interface SettledChange {
  status: 'completed' | 'cancelled';
  settlement: Exclude<Settlement, 'held'>;
  outcome: Outcome;
  refunded: number;
  teacher: number;
  platform: number;
  attendance?: StoredAttendance;
  cancelledBy?: string;
  cancelReason?: string | null;
  resolvedBy?: string;
  reviewNote?: string | null;
}

/** held -> settled, once; answers whether this call settled it. */
export async function recordSettlement(conn: Conn, id: string, change: SettledChange): Promise<boolean> {
  const changed = await conn('bookings')
    .where({ id, settlement: 'held' })
    .update({
      status: change.status,
      settlement: change.settlement,
      outcome: change.outcome,
      refunded_amount: change.refunded,
      teacher_amount: change.teacher,
      platform_amount: change.platform,
      ...(change.attendance === undefined ? {} : { attendance: JSON.stringify(change.attendance) }),
      ...(change.cancelledBy === undefined
        ? {}
        : { cancelled_by: change.cancelledBy, cancel_reason: change.cancelReason ?? null }),
      ...(change.resolvedBy === undefined
        ? {}
        : { resolved_by: change.resolvedBy, review_note: change.reviewNote ?? null }),
      updated_at: conn.fn.now(),
    });
  return changed === 1;
}

// ---- LiveKit events ------------------------------------------------------------

export interface LiveKitEventRow {
  id: string;
  event: string;
  room_name: string | null;
  identity: string | null;
  participant_sid: string | null;
  occurred_at: Date;
}

/**
 * Stores the event unless its id is known. Answers whether it was new and how
 * many joins and leaves of its identity the room held before it, counted up to
 * `countUpTo` (livekit_events_presence_idx; one statement: the webhook's one
 * round trip). Other kinds (tracks) are not counted: a booking never gets them.
 */
export async function insertLiveKitEvent(
  conn: Conn,
  event: LiveKitEventRow,
  countUpTo: number,
): Promise<{ isNew: boolean; identityEvents: number }> {
  const { rows } = await conn.raw<{ rows: { inserted: number; identity_events: number }[] }>(
    `with inserted as (
       insert into livekit_events (id, event, room_name, identity, participant_sid, occurred_at)
       values (?, ?, ?, ?, ?, ?)
       on conflict (id) do nothing
       returning 1)
     select (select count(*) from inserted)::int as inserted,
            (select count(*) from (
               select 1 from livekit_events
                where room_name = ? and identity = ?
                  and event in ('participant_joined', 'participant_left')
                limit ?) up_to)::int as identity_events`,
    [
      event.id,
      event.event,
      event.room_name,
      event.identity,
      event.participant_sid,
      event.occurred_at,
      event.room_name,
      event.identity,
      countUpTo,
    ],
  );
  const [row] = rows;
  return { isNew: row!.inserted === 1, identityEvents: row!.identity_events };
}

/** A room's joins and leaves of these identities, and its room_finished, in time order (no other kinds). */
export async function roomEvents(
  conn: Conn,
  roomName: string,
  filter: { identities: string[]; limit: number },
): Promise<LiveKitEventRow[]> {
  return (
    conn<LiveKitEventRow>('livekit_events')
      .where({ room_name: roomName })
      // Only what attendance uses: track events must not push joins and leaves out of the limit.
      .andWhere((q) =>
        q
          .where((presence) =>
            presence
              .whereIn('identity', filter.identities)
              .whereIn('event', ['participant_joined', 'participant_left']),
          )
          .orWhere('event', 'room_finished'),
      )
      .orderBy([{ column: 'occurred_at' }, { column: 'received_at' }, 'id'])
      .limit(filter.limit)
  );
}
