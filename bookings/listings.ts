// What the console browses: the teachers a student can book (with how many
// classes they have on offer), a teacher's courses still to come, and a
// teacher's own classes past and upcoming. Reads only.
import type { Db } from '../db/knex';
import { keysetTime, type Position } from '../db/keyset';
import type { Clock } from '../domain/clock';
import type { CourseRow, MeetingRow } from './repository';
import { enrolmentParts } from './service';
import { meetingView, type MeetingView } from './views';

export interface ListingDeps {
  db: Db;
  clock: Clock;
}

export interface Page<T> {
  data: T[];
  /** Where the next page starts, if there is one. */
  next: Position | null;
}

/** `text` matched literally inside ILIKE: its wildcards and the escape character escaped. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

// ---- teachers -------------------------------------------------------------------

export interface TeacherSummary {
  id: string;
  name: string;
  /** Meetings still to start, not cancelled, with a seat left. */
  upcomingMeetings: number;
}

/** Teachers, newest first, optionally those whose name contains `q` (any case). */
export async function listTeachers(
  deps: ListingDeps,
  query: { q?: string; limit: number; before?: Position },
): Promise<Page<TeacherSummary>> {
  const rows = await deps
    .db('users as u')
    .where('u.role', 'teacher')
    .modify((q) => {
      if (query.q !== undefined) void q.whereRaw(`u.name ilike ? escape '\\'`, [`%${likeLiteral(query.q)}%`]);
      if (query.before !== undefined) {
        void q.whereRaw('(u.created_at, u.id) < (?::timestamptz, ?::uuid)', [
          query.before.at,
          query.before.id,
        ]);
      }
    })
    .select<TeacherRow[]>(teacherColumns(deps))
    .orderBy([
      { column: 'u.created_at', order: 'desc' },
      { column: 'u.id', order: 'desc' },
    ])
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    data: page.map(summaryOf),
    next: rows.length > query.limit && last !== undefined ? { at: last.keyset_at, id: last.id } : null,
  };
}

/** One teacher, as the list shows them; undefined when no teacher has this id. */
export async function teacherSummary(
  deps: ListingDeps,
  teacherId: string,
): Promise<TeacherSummary | undefined> {
  const rows = await deps
    .db('users as u')
    .where({ 'u.role': 'teacher', 'u.id': teacherId })
    .select<TeacherRow[]>(teacherColumns(deps));
  return rows[0] === undefined ? undefined : summaryOf(rows[0]);
}

type TeacherRow = { id: string; name: string; upcoming: number; keyset_at: string };

/** What a teacher's summary reads: name, keyset position, meetings still to start with a seat left. */
function teacherColumns(deps: ListingDeps) {
  return [
    'u.id',
    'u.name',
    deps.db.raw(`${keysetTime('u.created_at')} as keyset_at`),
    deps.db.raw(
      `(select count(*)::int from meetings m
         where m.teacher_id = u.id and m.status = 'scheduled' and m.starts_at > ?
           and m.seats_taken < m.capacity) as upcoming`,
      [deps.clock.now()],
    ),
  ];
}

function summaryOf(row: TeacherRow): TeacherSummary {
  return { id: row.id, name: row.name, upcomingMeetings: Number(row.upcoming) };
}

// ---- a teacher's own classes --------------------------------------------------------

export interface OwnMeeting extends MeetingView {
  /** Bookings holding a seat (every booking not cancelled). */
  bookedCount: number;
}

/** A teacher's meetings, past and upcoming, cancelled ones too; latest start first. */
export async function ownMeetings(
  deps: ListingDeps,
  teacherId: string,
  query: { from?: Date; to?: Date; limit: number; before?: Position },
): Promise<Page<OwnMeeting>> {
  const rows = await deps
    .db<MeetingRow>('meetings')
    .where({ teacher_id: teacherId })
    .modify((q) => {
      if (query.from !== undefined) void q.where('starts_at', '>=', query.from);
      if (query.to !== undefined) void q.where('starts_at', '<', query.to);
      if (query.before !== undefined) {
        void q.whereRaw('(starts_at, id) < (?::timestamptz, ?::uuid)', [query.before.at, query.before.id]);
      }
    })
    .select<(MeetingRow & { keyset_at: string })[]>(
      '*',
      deps.db.raw(`${keysetTime('starts_at')} as keyset_at`),
    )
    .orderBy([
      { column: 'starts_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    data: page.map((row) => ({ ...meetingView(row), bookedCount: row.seats_taken })),
    next: rows.length > query.limit && last !== undefined ? { at: last.keyset_at, id: last.id } : null,
  };
}

// ---- a teacher's courses ------------------------------------------------------------

/** Bound of one listing of a teacher's courses. */
export const MAX_COURSES_LISTED = 100;

export interface CourseOffer {
  id: string;
  teacherId: string;
  title: string;
  description: string | null;
  capacity: number;
  pricePerSession: number;
  priceFullCourse: number | null;
  /** Sessions in all, and those still to come (not cancelled): enrolling books these. */
  sessions: number;
  upcomingSessions: number;
  nextStartsAt: string;
  lastEndsAt: string;
  /** The fewest seats left among the sessions to come (enrolling takes one of each, all or nothing). */
  seatsLeft: number;
  /** What POST /courses/:id/enroll would hold now. */
  enrolmentPrice: number;
}

/** A teacher's courses with a session still to come, the soonest first. */
export async function teacherCourses(deps: ListingDeps, teacherId: string): Promise<CourseOffer[]> {
  const now = deps.clock.now();
  const courses = await deps
    .db<CourseRow>('courses')
    .where({ teacher_id: teacherId })
    .whereExists((q) =>
      q
        .select(deps.db.raw('1'))
        .from('meetings as m')
        .whereRaw('m.course_id = courses.id')
        .where('m.status', 'scheduled')
        .where('m.starts_at', '>', now),
    );
  if (courses.length === 0) return [];
  const sessions = await deps
    .db<MeetingRow>('meetings')
    .whereIn(
      'course_id',
      courses.map((c) => c.id),
    )
    .orderBy([{ column: 'course_id' }, { column: 'starts_at' }, { column: 'id' }]);
  const offers = courses.flatMap((course): CourseOffer[] => {
    const all = sessions.filter((m) => m.course_id === course.id);
    const parts = enrolmentParts(course, all, now);
    const first = parts[0];
    const last = parts[parts.length - 1];
    if (first === undefined || last === undefined) return [];
    return [
      {
        id: course.id,
        teacherId: course.teacher_id,
        title: course.title,
        description: course.description,
        capacity: course.capacity,
        pricePerSession: course.price_per_session,
        priceFullCourse: course.price_full_course,
        sessions: all.length,
        upcomingSessions: parts.length,
        nextStartsAt: first.meeting.starts_at.toISOString(),
        lastEndsAt: last.meeting.ends_at.toISOString(),
        seatsLeft: Math.min(...parts.map(({ meeting }) => meeting.capacity - meeting.seats_taken)),
        enrolmentPrice: parts.reduce((sum, { price }) => sum + price, 0),
      },
    ];
  });
  return offers
    .sort((a, b) => a.nextStartsAt.localeCompare(b.nextStartsAt) || a.id.localeCompare(b.id))
    .slice(0, MAX_COURSES_LISTED);
}
