// Teachers publish meetings (one-off slots) and courses (a meeting per
// session); anyone signed in can see a teacher's upcoming meetings and a
// course with its seats left.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import type { Clock } from '../domain/clock';
import { NotFoundError, ValidationError } from '../domain/errors';
import type { WorkflowLinks } from '../temporal-client/workflow-links';
import type { Role } from '../users/user-model';
import {
  courseSessions,
  findCourse,
  findMeeting,
  insertCourse,
  insertMeetings,
  meetingBookings,
  teacherMeetings,
} from './repository';
import {
  bookingViews,
  courseView,
  meetingView,
  type BookingView,
  type CourseView,
  type MeetingView,
} from './views';

export interface MeetingDeps {
  db: Db;
  clock: Clock;
  /** Links to booking workflows, shown to admins with a meeting's bookings. */
  workflowLinks?: WorkflowLinks;
}

export interface Actor {
  id: string;
  role: Role;
}

const MINUTE_MS = 60_000;
/** Bound of one listing of slots. */
export const MAX_SLOTS_LISTED = 200;
/** Default window of a slot listing. */
const DEFAULT_LISTING_DAYS = 60;
/**
 * How far ahead a class may be scheduled: a year and a day (the same date next
 * year). Further is a typo (a year 2062 for 2026), not a plan, and would hold
 * the student's money for as long.
 */
export const MAX_SCHEDULE_AHEAD_DAYS = 366;
const DAY_MS = 24 * 60 * MINUTE_MS;

export interface NewSlot {
  startsAt: Date;
  durationMinutes: number;
  price: number;
  capacity: number;
  title: string | null;
}

function assertSchedulable(startsAt: Date, now: Date, path: string): void {
  if (startsAt.getTime() <= now.getTime()) {
    throw new ValidationError('invalid request', [{ path, message: 'must be in the future' }]);
  }
  if (startsAt.getTime() > now.getTime() + MAX_SCHEDULE_AHEAD_DAYS * DAY_MS) {
    throw new ValidationError('invalid request', [
      { path, message: `must be at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead` },
    ]);
  }
}

export async function publishSlot(deps: MeetingDeps, teacher: Actor, slot: NewSlot): Promise<MeetingView> {
  assertSchedulable(slot.startsAt, deps.clock.now(), 'startsAt');
  const [meeting] = await insertMeetings(deps.db, [
    {
      id: randomUUID(),
      teacher_id: teacher.id,
      course_id: null,
      title: slot.title,
      starts_at: slot.startsAt,
      ends_at: new Date(slot.startsAt.getTime() + slot.durationMinutes * MINUTE_MS),
      price: slot.price,
      capacity: slot.capacity,
    },
  ]);
  return meetingView(meeting!);
}

export interface NewCourse {
  title: string;
  description: string | null;
  capacity: number;
  pricePerSession: number;
  priceFullCourse: number | null;
  sessions: { startsAt: Date; durationMinutes: number }[];
}

export async function createCourse(
  deps: MeetingDeps,
  teacher: Actor,
  course: NewCourse,
): Promise<CourseView> {
  const now = deps.clock.now();
  course.sessions.forEach((s, i) => assertSchedulable(s.startsAt, now, `sessions.${i}.startsAt`));
  assertNoOverlap(course.sessions);
  if (course.priceFullCourse !== null && course.priceFullCourse < course.sessions.length) {
    // Every session's part of the full price must be at least one minor unit.
    throw new ValidationError('invalid request', [
      { path: 'priceFullCourse', message: `must be at least ${course.sessions.length} (one per session)` },
    ]);
  }
  const sorted = [...course.sessions].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
  return deps.db.transaction(async (trx) => {
    const row = await insertCourse(trx, {
      id: randomUUID(),
      teacher_id: teacher.id,
      title: course.title,
      description: course.description,
      capacity: course.capacity,
      price_per_session: course.pricePerSession,
      price_full_course: course.priceFullCourse,
    });
    const sessions = await insertMeetings(
      trx,
      sorted.map((s, i) => ({
        id: randomUUID(),
        teacher_id: teacher.id,
        course_id: row.id,
        title: `${course.title} (session ${i + 1} of ${sorted.length})`.slice(0, 200),
        starts_at: s.startsAt,
        ends_at: new Date(s.startsAt.getTime() + s.durationMinutes * MINUTE_MS),
        price: course.pricePerSession,
        capacity: course.capacity,
      })),
    );
    return courseView(
      row,
      sessions.sort((a, b) => a.starts_at.getTime() - b.starts_at.getTime()),
    );
  });
}

/** One teacher teaches a course's sessions: two of them at once is a mistake in the schedule. */
function assertNoOverlap(sessions: NewCourse['sessions']): void {
  const byStart = sessions
    .map((s, index) => ({
      index,
      startMs: s.startsAt.getTime(),
      endMs: s.startsAt.getTime() + s.durationMinutes * MINUTE_MS,
    }))
    .sort((a, b) => a.startMs - b.startMs || a.index - b.index);
  for (let i = 1; i < byStart.length; i++) {
    const [before, session] = [byStart[i - 1]!, byStart[i]!];
    if (session.startMs < before.endMs) {
      const [first, second] = before.index < session.index ? [before, session] : [session, before];
      throw new ValidationError('invalid request', [
        {
          path: `sessions.${second.index}.startsAt`,
          message: `overlaps session ${first.index} (sessions of a course follow one another)`,
        },
      ]);
    }
  }
}

export async function getCourse(deps: MeetingDeps, courseId: string): Promise<CourseView> {
  const course = await findCourse(deps.db, courseId);
  if (course === undefined) throw new NotFoundError('course');
  return courseView(course, await courseSessions(deps.db, courseId));
}

/** A teacher's meetings still to start (cancelled ones left out), soonest first. */
export async function upcomingSlots(
  deps: MeetingDeps,
  teacherId: string,
  window: { from?: Date; to?: Date },
): Promise<MeetingView[]> {
  const now = deps.clock.now();
  const from = window.from === undefined || window.from < now ? now : window.from;
  const to = window.to ?? new Date(from.getTime() + DEFAULT_LISTING_DAYS * 24 * 60 * MINUTE_MS);
  if (to <= from) return [];
  const rows = await teacherMeetings(deps.db, teacherId, { from, to, limit: MAX_SLOTS_LISTED });
  return rows.map(meetingView);
}

export interface MeetingDetail extends MeetingView {
  /** Its bookings, for its teacher and admins; a participating student sees only their own. */
  bookings: BookingView[];
}

/** A meeting, to its teacher, its students and admins; anyone else is told it does not exist. */
export async function getMeeting(deps: MeetingDeps, actor: Actor, meetingId: string): Promise<MeetingDetail> {
  const meeting = await findMeeting(deps.db, meetingId);
  if (meeting === undefined) throw new NotFoundError('meeting');
  const seesAll = actor.role === 'admin' || meeting.teacher_id === actor.id;
  const bookings = await meetingBookings(deps.db, meetingId, seesAll ? undefined : actor.id);
  if (!seesAll && bookings.length === 0) throw new NotFoundError('meeting');
  return {
    ...meetingView(meeting),
    bookings: await bookingViews(deps.db, deps.workflowLinks, actor, bookings),
  };
}
