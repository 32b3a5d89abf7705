// Rows as the API shows them (SPEC section 4).
import type { AttendanceSummary, BookingStatus, Outcome, Settlement } from '../domain/booking';
import type { WorkflowLinks } from '../temporal-client/workflow-links';
import { bookingWorkflowId } from '../workflows/shared';
import type { Conn } from '../db/knex';
import {
  bookingNames,
  type BookingNames,
  type BookingRow,
  type CourseRow,
  type MeetingRow,
  type StoredAttendance,
} from './repository';

export interface BookingView {
  id: string;
  meetingId: string;
  studentId: string;
  teacherId: string;
  /** The class's title (its course's for a course session); null for an untitled slot. */
  title: string | null;
  teacherName: string;
  studentName: string;
  price: number;
  status: BookingStatus;
  settlement: Settlement;
  outcome: Outcome | null;
  attendance: AttendanceSummary | null;
  /** Where the price went once settled: back to the student, to the teacher, to the platform. */
  amounts: { refunded: number; teacher: number; platform: number } | null;
  startsAt: string;
  endsAt: string;
  workflowId: string;
  /** The workflow in the Temporal UI or the dev server's inspector: for admins only, null for others. */
  workflowUrl: string | null;
  createdAt: string;
}

export interface MeetingView {
  id: string;
  teacherId: string;
  courseId: string | null;
  title: string | null;
  startsAt: string;
  endsAt: string;
  durationMinutes: number;
  price: number;
  capacity: number;
  seatsLeft: number;
  status: 'scheduled' | 'cancelled';
  createdAt: string;
}

export interface CourseView {
  id: string;
  teacherId: string;
  title: string;
  description: string | null;
  capacity: number;
  pricePerSession: number;
  priceFullCourse: number | null;
  sessions: MeetingView[];
  createdAt: string;
}

/** Where a settled booking's price went; null while it is held. */
export function amountsOf(row: BookingRow): BookingView['amounts'] {
  if (row.settlement === 'held') return null;
  return {
    refunded: row.refunded_amount ?? 0,
    teacher: row.teacher_amount ?? 0,
    platform: row.platform_amount ?? 0,
  };
}

export function attendanceSummary(attendance: StoredAttendance | null): AttendanceSummary | null {
  if (attendance === null) return null;
  return {
    seconds: attendance.seconds,
    percent: attendance.percent,
    teacherSeconds: attendance.teacherSeconds,
  };
}

/** A booking as anyone sees it (no workflow link: see bookingViewFor). */
export function bookingView(row: BookingRow, names: BookingNames): BookingView {
  return {
    id: row.id,
    meetingId: row.meeting_id,
    studentId: row.student_id,
    teacherId: row.teacher_id,
    title: names.title,
    teacherName: names.teacherName,
    studentName: names.studentName,
    price: row.price,
    status: row.status,
    settlement: row.settlement,
    outcome: row.outcome,
    attendance: attendanceSummary(row.attendance),
    amounts: amountsOf(row),
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    workflowId: bookingWorkflowId(row.id),
    workflowUrl: null,
    createdAt: row.created_at.toISOString(),
  };
}

/** A booking as `viewer` sees it: admins also get the link to its workflow. */
export function bookingViewFor(
  links: WorkflowLinks | undefined,
  viewer: { role: string },
  row: BookingRow,
  names: BookingNames,
): BookingView {
  const view = bookingView(row, names);
  if (viewer.role !== 'admin' || links === undefined) return view;
  return { ...view, workflowUrl: links.of(view.workflowId) };
}

/** Bookings as `viewer` sees them, with their names read in one query (rows: at most a page). */
export async function bookingViews(
  conn: Conn,
  links: WorkflowLinks | undefined,
  viewer: { role: string },
  rows: BookingRow[],
): Promise<BookingView[]> {
  const names = await bookingNames(
    conn,
    rows.map((row) => row.id),
  );
  return rows.map((row) => {
    const found = names.get(row.id);
    // Every booking has its meeting and both its users (foreign keys).
    if (found === undefined) throw new Error(`booking ${row.id} has no meeting or users`);
    return bookingViewFor(links, viewer, row, found);
  });
}

export function meetingView(row: MeetingRow): MeetingView {
  return {
    id: row.id,
    teacherId: row.teacher_id,
    courseId: row.course_id,
    title: row.title,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    durationMinutes: Math.round((row.ends_at.getTime() - row.starts_at.getTime()) / 60_000),
    price: row.price,
    capacity: row.capacity,
    seatsLeft: row.status === 'cancelled' ? 0 : row.capacity - row.seats_taken,
    status: row.status,
    createdAt: row.created_at.toISOString(),
  };
}

export function courseView(row: CourseRow, sessions: MeetingRow[]): CourseView {
  return {
    id: row.id,
    teacherId: row.teacher_id,
    title: row.title,
    description: row.description,
    capacity: row.capacity,
    pricePerSession: row.price_per_session,
    priceFullCourse: row.price_full_course,
    sessions: sessions.map(meetingView),
    createdAt: row.created_at.toISOString(),
  };
}
