// Attendance from LiveKit's webhook events, which LiveKit does not promise to
// deliver once, in order, or at all: events are deduplicated by id, ordered by
// their time, followed per connection (`participant.sid`: a reconnect is a new
// connection of the same identity), and a connection whose `participant_left`
// never came is closed when the room finished or at the scheduled end. A
// participant's presence is the union of their connections' intervals clipped
// to [start, end], so overlapping connections or repeated joins never count twice.
import { assert } from './assert';
import type { AttendanceSummary } from './booking';

export type PresenceEventKind = 'participant_joined' | 'participant_left' | 'room_finished';

export interface PresenceEvent {
  /** LiveKit's event id: the same event delivered twice has the same id. */
  id: string;
  kind: PresenceEventKind;
  /** Event time (LiveKit's createdAt), in ms since the epoch. */
  atMs: number;
  /** `user-<id>` for participant events. */
  identity?: string;
  /** One connection of the participant. */
  participantSid?: string;
}

export interface Interval {
  fromMs: number;
  toMs: number;
}

export interface ClassWindow {
  startMs: number;
  endMs: number;
}

/** Same id, first one wins; then by time, ties in a fixed order (joins first, then by id). */
export function orderEvents(events: Iterable<PresenceEvent>): PresenceEvent[] {
  const byId = new Map<string, PresenceEvent>();
  for (const event of events) if (!byId.has(event.id)) byId.set(event.id, event);
  const rank: Record<PresenceEventKind, number> = {
    participant_joined: 0,
    participant_left: 1,
    room_finished: 2,
  };
  return [...byId.values()].sort(
    (a, b) => a.atMs - b.atMs || rank[a.kind] - rank[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** Union of intervals, sorted and merged (touching intervals join). */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.toMs > i.fromMs).sort((a, b) => a.fromMs - b.fromMs);
  const merged: Interval[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && interval.fromMs <= last.toMs) last.toMs = Math.max(last.toMs, interval.toMs);
    else merged.push({ ...interval });
  }
  return merged;
}

function clip(intervals: readonly Interval[], window: ClassWindow): Interval[] {
  return intervals
    .map((i) => ({ fromMs: Math.max(i.fromMs, window.startMs), toMs: Math.min(i.toMs, window.endMs) }))
    .filter((i) => i.toMs > i.fromMs);
}

/**
 * When a connection without its `participant_left` is taken to have ended:
 * the first `room_finished` after it joined, or else the scheduled end (or its
 * join time, if it joined after the end: nothing of it counts).
 */
function implicitEnd(joinedMs: number, roomFinishedMs: readonly number[], window: ClassWindow): number {
  const finished = roomFinishedMs.find((t) => t >= joinedMs);
  return finished ?? Math.max(window.endMs, joinedMs);
}

/** The identity's presence: merged intervals within [start, end]. */
export function presenceOf(
  events: Iterable<PresenceEvent>,
  identity: string,
  window: ClassWindow,
): Interval[] {
  assert(window.endMs > window.startMs, 'a class ends after it starts');
  const ordered = orderEvents(events);
  const roomFinishedMs = ordered.filter((e) => e.kind === 'room_finished').map((e) => e.atMs);
  const openSince = new Map<string, number>(); // participantSid -> joined at
  const intervals: Interval[] = [];
  for (const event of ordered) {
    if (event.identity !== identity) continue;
    // Without a connection id, the identity stands for its one connection.
    const sid = event.participantSid ?? '';
    if (event.kind === 'participant_joined') {
      // A repeated join of a connection already present changes nothing.
      if (!openSince.has(sid)) openSince.set(sid, event.atMs);
    } else if (event.kind === 'participant_left') {
      const since = openSince.get(sid);
      // A leave without its join is no evidence of presence.
      if (since !== undefined) {
        intervals.push({ fromMs: since, toMs: event.atMs });
        openSince.delete(sid);
      }
    }
  }
  for (const since of openSince.values()) {
    intervals.push({ fromMs: since, toMs: implicitEnd(since, roomFinishedMs, window) });
  }
  return mergeIntervals(clip(intervals, window));
}

export function totalMs(intervals: readonly Interval[]): number {
  return intervals.reduce((sum, i) => sum + (i.toMs - i.fromMs), 0);
}

export interface Attendance {
  studentMs: number;
  teacherMs: number;
  classMs: number;
  studentIntervals: Interval[];
  teacherIntervals: Interval[];
}

export function attendanceOf(
  events: Iterable<PresenceEvent>,
  identities: { student: string; teacher: string },
  window: ClassWindow,
): Attendance {
  const list = [...events];
  const studentIntervals = presenceOf(list, identities.student, window);
  const teacherIntervals = presenceOf(list, identities.teacher, window);
  return {
    studentMs: totalMs(studentIntervals),
    teacherMs: totalMs(teacherIntervals),
    classMs: window.endMs - window.startMs,
    studentIntervals,
    teacherIntervals,
  };
}

/** The student's attendance is at least `percent` of the class (exact integer comparison). */
export function attendedAtLeast(attendance: Attendance, percent: number): boolean {
  return attendance.studentMs * 100 >= percent * attendance.classMs;
}

export function summarize(attendance: Attendance): AttendanceSummary {
  return {
    seconds: Math.floor(attendance.studentMs / 1000),
    percent: Math.floor((attendance.studentMs * 10_000) / attendance.classMs) / 100,
    teacherSeconds: Math.floor(attendance.teacherMs / 1000),
  };
}

/** LiveKit identities of the platform's users. */
export function identityOf(userId: string): string {
  return `user-${userId}`;
}

export function userIdOfIdentity(identity: string): string | undefined {
  const match = /^user-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(identity);
  return match?.[1]?.toLowerCase();
}

export function roomNameOf(meetingId: string): string {
  return `meeting-${meetingId}`;
}

export function meetingIdOfRoom(roomName: string): string | undefined {
  const match = /^meeting-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(roomName);
  return match?.[1]?.toLowerCase();
}
