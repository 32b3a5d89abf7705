// Attendance (SPEC sections 2 and 5) checked against an independent,
// brute-force model: for every whole second of the class, is some connection
// of the identity present during that whole second?
//
// The model, written from the spec and not from domain/attendance.ts:
// - events are deduplicated by id, the first delivery wins;
// - a connection is one `participantSid` of one identity (a reconnect is a new
//   sid, same identity); its interval runs from its participant_joined to its
//   participant_left; a repeated join of a connection already joined changes
//   nothing (the interval starts at its earliest join);
// - a connection with no participant_left is closed at the first room_finished
//   at or after its join, else at the scheduled end;
// - a participant_left without any participant_joined of its connection is
//   ignored;
// - presence is the union of the connections' intervals clipped to
//   [start, end]; event times are whole seconds (LiveKit's createdAt), so the
//   union is exactly the number of seconds s in [start, end) with [s, s+1)
//   inside some interval.
//
// Ties (several events in the same second). orderEvents sorts by time, then
// joins before lefts before room_finished, then by id. Only the relative order
// of a join and a left of the SAME connection can change a result (connections
// are independent of each other, and room_finished closes a connection by
// comparing times, "at or after its join", not by position). Joins first is
// what the spec's "from its participant_joined to its participant_left" says:
// - a join and a left of one connection in the same second is a connection of
//   zero length (lefts first would read it as an ignored orphan left followed
//   by a join that never left: present until the end);
// - a repeated join (another event id) in the second of the connection's left
//   is a join of a connection already present (lefts first would reopen it).
// The generator produces both on purpose, so the tie rule is under test here;
// it agrees with the spec. Out of scope of the model (impossible in LiveKit,
// where a sid is one connection, joined once and left once, with createdAt from
// one server): a join of a connection after its own left, or a left timed
// before its own join. The generator never produces those.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvariantError } from '../../domain/assert';
import {
  attendanceOf,
  attendedAtLeast,
  presenceOf,
  summarize,
  type Attendance,
  type ClassWindow,
  type Interval,
  type PresenceEvent,
} from '../../domain/attendance';

const STUDENT = 'user-5b8e2c43-9a41-4f0e-8f7e-0d3d1a1b2c01';
const TEACHER = 'user-0f6a7e21-3c55-4b1d-9e0a-7c2b9d4e5f02';
/** Someone else in the room, a participant of another room, and a look-alike. */
const OTHERS = ['user-9d1c0b7a-2e33-4c4d-8a5b-6f7e8d9c0a03', 'user-someone-elses-room', `${STUDENT}x`];
const IDENTITIES = [STUDENT, TEACHER, ...OTHERS];

/** An epoch in whole seconds, as LiveKit's createdAt. */
const EPOCH_S = 1_767_225_600;
/** How far before the start and after the end events are generated, in seconds. */
const MARGIN_S = 12;
const MAX_CLASS_S = 48;

const ms = (seconds: number): number => seconds * 1000;

// ---- the model --------------------------------------------------------------

interface Connection {
  joinedS: number;
  endS: number;
}

/** Seconds (offsets from the start) present: index s is [start+s, start+s+1). */
function modelPresence(
  events: readonly PresenceEvent[],
  identity: string,
  startS: number,
  endS: number,
): boolean[] {
  const seen = new Set<string>();
  const unique: PresenceEvent[] = [];
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    unique.push(event);
  }
  const finishedS = unique.filter((e) => e.kind === 'room_finished').map((e) => e.atMs / 1000);
  const joins = new Map<string, number[]>();
  const lefts = new Map<string, number[]>();
  for (const event of unique) {
    if (event.identity !== identity || event.kind === 'room_finished') continue;
    const sid = event.participantSid!;
    const into = event.kind === 'participant_joined' ? joins : lefts;
    into.set(sid, [...(into.get(sid) ?? []), event.atMs / 1000]);
  }
  const connections: Connection[] = [];
  for (const [sid, joinTimes] of joins) {
    const joinedS = Math.min(...joinTimes);
    const leftTimes = lefts.get(sid) ?? [];
    // The generator's promise (see the header): a connection leaves after it joined.
    assert.ok(
      leftTimes.every((t) => t >= joinedS),
      'generator: a left before its own join',
    );
    let closedS: number;
    if (leftTimes.length > 0) closedS = Math.min(...leftTimes);
    else {
      const finished = finishedS.filter((t) => t >= joinedS);
      closedS = finished.length > 0 ? Math.min(...finished) : endS;
    }
    connections.push({ joinedS, endS: closedS });
  }
  const present: boolean[] = [];
  for (let s = startS; s < endS; s++) {
    present.push(connections.some((c) => c.joinedS <= s && s + 1 <= c.endS));
  }
  return present;
}

/** The code's intervals as seconds present, the model's shape. */
function secondsOf(intervals: readonly Interval[], startS: number, endS: number): boolean[] {
  const present: boolean[] = [];
  for (let s = startS; s < endS; s++) {
    present.push(intervals.some((i) => i.fromMs <= ms(s) && ms(s + 1) <= i.toMs));
  }
  return present;
}

const count = (present: readonly boolean[]): number => present.filter(Boolean).length;

/** Merged: sorted, non-empty, disjoint and not touching, inside the window. */
function assertMerged(intervals: readonly Interval[], window: ClassWindow): void {
  let previousEnd = -Infinity;
  for (const interval of intervals) {
    assert.ok(interval.fromMs >= window.startMs && interval.toMs <= window.endMs, 'inside the window');
    assert.ok(interval.toMs > interval.fromMs, 'non-empty');
    assert.ok(interval.fromMs > previousEnd, 'sorted, disjoint, touching ones merged');
    previousEnd = interval.toMs;
  }
}

// ---- the generator ----------------------------------------------------------

interface ConnectionSpec {
  who: number;
  /** Offset from the start, seconds. */
  join: number;
  /** No join at all: an orphan participant_left. */
  orphan: boolean;
  /** Seconds from join to left; null: the left never arrives. */
  stay: number | null;
  /** Repeated joins of this connection (other ids), as a fraction of its stay. */
  repeatedJoins: number[];
  /** Repeated lefts (other ids), seconds after the left. */
  repeatedLefts: number[];
}

interface Scenario {
  startS: number;
  endS: number;
  /** As delivered: duplicates included, shuffled. */
  events: PresenceEvent[];
}

const connectionArb = (classS: number): fc.Arbitrary<ConnectionSpec> =>
  fc.record({
    // The student and the teacher most of the time, somebody else otherwise.
    who: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: IDENTITIES.length - 1 }) },
    ),
    join: fc.integer({ min: -MARGIN_S, max: classS + MARGIN_S }),
    orphan: fc.oneof(
      { weight: 1, arbitrary: fc.constant(true) },
      { weight: 5, arbitrary: fc.constant(false) },
    ),
    stay: fc.option(
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: classS + MARGIN_S })),
      {
        nil: null,
        freq: 4,
      },
    ),
    repeatedJoins: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
    repeatedLefts: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 1 }),
  });

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .integer({ min: 1, max: MAX_CLASS_S })
  .chain((classS) =>
    fc.record({
      classS: fc.constant(classS),
      startOffset: fc.integer({ min: 0, max: 3600 }),
      connections: fc.array(connectionArb(classS), { maxLength: 9 }),
      roomFinished: fc.array(fc.integer({ min: -MARGIN_S, max: classS + MARGIN_S }), { maxLength: 3 }),
      idSalt: fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 64, maxLength: 64 }),
      duplicates: fc.array(fc.nat(), { maxLength: 6 }),
    }),
  )
  .chain((spec) => {
    const startS = EPOCH_S + spec.startOffset;
    const endS = startS + spec.classS;
    const unique: PresenceEvent[] = [];
    // Ids in no relation to time or kind, so the id tie-break is exercised too.
    const nextId = (): string => `EV_${spec.idSalt[unique.length % 64]!}_${unique.length}`;
    const add = (
      kind: PresenceEvent['kind'],
      atS: number,
      identity?: string,
      participantSid?: string,
    ): void => {
      const event: PresenceEvent = { id: nextId(), kind, atMs: ms(atS) };
      if (identity !== undefined) event.identity = identity;
      if (participantSid !== undefined) event.participantSid = participantSid;
      unique.push(event);
    };
    const perIdentity = new Map<string, number>();
    for (const c of spec.connections) {
      const identity = IDENTITIES[c.who]!;
      const n = perIdentity.get(identity) ?? 0;
      perIdentity.set(identity, n + 1);
      // Sids repeat across identities (PA_0 of the student, PA_0 of the
      // teacher): a connection is an identity's sid.
      const sid = `PA_${n}`;
      const joinS = startS + c.join;
      const leftS = c.stay === null ? null : joinS + c.stay;
      if (!c.orphan) {
        add('participant_joined', joinS, identity, sid);
        const until = leftS ?? endS + MARGIN_S;
        for (const r of c.repeatedJoins)
          add('participant_joined', joinS + Math.round(((until - joinS) * r) / 4), identity, sid);
      }
      if (leftS !== null || c.orphan) {
        const atS = leftS ?? joinS;
        add('participant_left', atS, identity, sid);
        for (const r of c.repeatedLefts) add('participant_left', atS + r, identity, sid);
      }
    }
    for (const offset of spec.roomFinished) add('room_finished', startS + offset);
    // The same event delivered again (same id), anywhere in the list.
    const delivered = [...unique];
    if (unique.length > 0) for (const d of spec.duplicates) delivered.push({ ...unique[d % unique.length]! });
    return fc
      .shuffledSubarray(delivered, { minLength: delivered.length, maxLength: delivered.length })
      .map((events): Scenario => ({ startS, endS, events }));
  });

// ---- the properties ---------------------------------------------------------

/** summarize, from exact integer arithmetic. */
function expectedSummary(attendance: Attendance): {
  seconds: number;
  percent: number;
  teacherSeconds: number;
} {
  const hundredths = (BigInt(attendance.studentMs) * 10_000n) / BigInt(attendance.classMs);
  return {
    seconds: Number(BigInt(attendance.studentMs) / 1000n),
    percent: Number(hundredths) / 100,
    teacherSeconds: Number(BigInt(attendance.teacherMs) / 1000n),
  };
}

function expectedAtLeast(attendance: Attendance, percent: number): boolean {
  return BigInt(attendance.studentMs) * 100n >= BigInt(percent) * BigInt(attendance.classMs);
}

describe('domain/attendance', () => {
  it('when webhook events come duplicated, reordered, overlapping or incomplete, then presence is the per-second model’s union', () => {
    fc.assert(
      fc.property(scenarioArb, ({ startS, endS, events }) => {
        const window = { startMs: ms(startS), endMs: ms(endS) };
        for (const identity of IDENTITIES) {
          const intervals = presenceOf(events, identity, window);
          assertMerged(intervals, window);
          assert.deepEqual(
            secondsOf(intervals, startS, endS),
            modelPresence(events, identity, startS, endS),
            identity,
          );
        }
        const attendance = attendanceOf(events, { student: STUDENT, teacher: TEACHER }, window);
        assert.equal(attendance.studentMs, ms(count(modelPresence(events, STUDENT, startS, endS))));
        assert.equal(attendance.teacherMs, ms(count(modelPresence(events, TEACHER, startS, endS))));
        assert.equal(attendance.classMs, ms(endS - startS));
      }),
      { numRuns: 600 },
    );
  });

  it('when the same events arrive in another order, then the attendance is the same', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) =>
          fc
            .shuffledSubarray(s.events, { minLength: s.events.length, maxLength: s.events.length })
            .map((other) => ({ ...s, other })),
        ),
        ({ startS, endS, events, other }) => {
          const window = { startMs: ms(startS), endMs: ms(endS) };
          const identities = { student: STUDENT, teacher: TEACHER };
          assert.deepEqual(attendanceOf(other, identities, window), attendanceOf(events, identities, window));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('when attendance is summarised, then seconds and percent are rounded down exactly', () => {
    fc.assert(
      fc.property(scenarioArb, ({ startS, endS, events }) => {
        const window = { startMs: ms(startS), endMs: ms(endS) };
        const attendance = attendanceOf(events, { student: STUDENT, teacher: TEACHER }, window);
        assert.deepEqual(summarize(attendance), expectedSummary(attendance));
      }),
      { numRuns: 200 },
    );
    // Any millisecond amounts, classes up to a week.
    const attendanceArb = fc
      .integer({ min: 1, max: 7 * 24 * 3_600_000 })
      .chain((classMs) =>
        fc.record({
          classMs: fc.constant(classMs),
          studentMs: fc.oneof(
            fc.integer({ min: 0, max: classMs }),
            fc.integer({ min: 0, max: 100 }).map((p) => Math.floor((classMs * p) / 100)),
          ),
          teacherMs: fc.integer({ min: 0, max: classMs }),
        }),
      )
      .map((a): Attendance => ({ ...a, studentIntervals: [], teacherIntervals: [] }));
    fc.assert(
      fc.property(attendanceArb, (attendance) => {
        const summary = summarize(attendance);
        assert.deepEqual(summary, expectedSummary(attendance));
        // At most two decimals, as a number prints.
        assert.match(String(summary.percent), /^\d+(\.\d{1,2})?$/);
      }),
      { numRuns: 1000 },
    );
  });

  it('when attendance is compared with a percentage, then the comparison is exact, the boundary included', () => {
    const arb = fc.record({
      classMs: fc.integer({ min: 1, max: 7 * 24 * 3_600_000 }),
      percent: fc.integer({ min: 0, max: 100 }),
      nudge: fc.integer({ min: -2, max: 2 }),
      random: fc.boolean(),
      pick: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(arb, ({ classMs, percent, nudge, random, pick }) => {
        // Near the boundary (classMs * percent / 100, ±2 ms) or anywhere.
        const boundary = Number((BigInt(classMs) * BigInt(percent)) / 100n);
        const studentMs = Math.min(
          classMs,
          Math.max(0, random ? Math.floor(classMs * pick) : boundary + nudge),
        );
        const attendance: Attendance = {
          studentMs,
          teacherMs: classMs,
          classMs,
          studentIntervals: [],
          teacherIntervals: [],
        };
        assert.equal(attendedAtLeast(attendance, percent), expectedAtLeast(attendance, percent));
      }),
      { numRuns: 1000 },
    );
  });

  describe('examples', () => {
    const startS = EPOCH_S;
    const endS = EPOCH_S + 3600;
    const window = { startMs: ms(startS), endMs: ms(endS) };
    let n = 0;
    const joined = (atS: number, sid: string, identity = STUDENT): PresenceEvent => ({
      id: `EX_${n++}`,
      kind: 'participant_joined',
      atMs: ms(atS),
      identity,
      participantSid: sid,
    });
    const left = (atS: number, sid: string, identity = STUDENT): PresenceEvent => ({
      id: `EX_${n++}`,
      kind: 'participant_left',
      atMs: ms(atS),
      identity,
      participantSid: sid,
    });
    const finished = (atS: number): PresenceEvent => ({
      id: `EX_${n++}`,
      kind: 'room_finished',
      atMs: ms(atS),
    });
    const studentMs = (events: PresenceEvent[]): number =>
      attendanceOf(events, { student: STUDENT, teacher: TEACHER }, window).studentMs;

    it('when a student reconnects and the old connection’s left arrives after the new join, then the overlap counts once', () => {
      // PA_1 [start+100, start+700], PA_2 [start+650, start+1000]: 900 s.
      const events = [
        joined(startS + 100, 'PA_1'),
        joined(startS + 650, 'PA_2'),
        left(startS + 1000, 'PA_2'),
      ];
      events.splice(2, 0, left(startS + 700, 'PA_1'));
      assert.equal(studentMs(events), ms(900));
      assert.equal(studentMs([...events].reverse()), ms(900));
    });

    it('when a participant_left never arrives, then the connection closes at the first room_finished at or after its join, else at the end', () => {
      assert.equal(
        studentMs([joined(startS + 600, 'PA_1'), finished(startS + 1200), finished(startS + 1800)]),
        ms(600),
      );
      // A room_finished before the join does not close it.
      assert.equal(studentMs([finished(startS + 300), joined(startS + 600, 'PA_1')]), ms(3000));
      // A room_finished in the very second of the join closes it at once.
      assert.equal(studentMs([joined(startS + 600, 'PA_1'), finished(startS + 600)]), 0);
    });

    it('when a join and its left fall in the same second, then the connection lasts zero seconds (joins sort first)', () => {
      assert.equal(studentMs([left(startS + 600, 'PA_1'), joined(startS + 600, 'PA_1')]), 0);
      // A repeated join (another id) in the second of the left does not reopen the connection.
      assert.equal(
        studentMs([joined(startS + 100, 'PA_1'), left(startS + 600, 'PA_1'), joined(startS + 600, 'PA_1')]),
        ms(500),
      );
    });

    it('when a participant_left has no join, then it is ignored', () => {
      assert.equal(studentMs([left(startS + 600, 'PA_1')]), 0);
      assert.equal(
        studentMs([left(startS + 600, 'PA_9'), joined(startS + 1200, 'PA_1'), left(endS, 'PA_1')]),
        ms(2400),
      );
    });

    it('when the same event id is delivered twice with different contents, then the first delivery wins', () => {
      const first = joined(startS + 600, 'PA_1');
      const again = { ...first, atMs: ms(startS) };
      assert.equal(studentMs([first, again]), ms(3000));
      assert.equal(studentMs([again, first]), ms(3600));
    });

    it('when the class does not end after it starts, then an invariant error is thrown', () => {
      const events = [joined(startS, 'PA_1')];
      assert.throws(
        () => presenceOf(events, STUDENT, { startMs: ms(startS), endMs: ms(startS) }),
        InvariantError,
      );
      assert.throws(
        () => presenceOf(events, STUDENT, { startMs: ms(endS), endMs: ms(startS) }),
        InvariantError,
      );
    });

    it('when presence starts before the class or ends after it, then it is clipped to the class', () => {
      assert.equal(studentMs([joined(startS - 900, 'PA_1'), left(endS + 900, 'PA_1')]), ms(3600));
      assert.equal(studentMs([joined(endS + 10, 'PA_1')]), 0);
      assert.equal(studentMs([joined(startS - 900, 'PA_1'), left(startS, 'PA_1')]), 0);
    });
  });
});
