// The settlement table of SPEC section 2 (teacher present = the teacher's
// attendance is above zero) and an admin's review decisions.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvariantError } from '../../domain/assert';
import { attendanceOf, type Attendance, type PresenceEvent } from '../../domain/attendance';
import {
  decideAtFinalisation,
  planRefund,
  planRelease,
  planReviewDecision,
  planSettlement,
} from '../../domain/settlement';

const HOUR_MS = 3_600_000;
const RELEASE_PERCENT = 20;

function attendance(studentMs: number, teacherMs: number, classMs = HOUR_MS): Attendance {
  return { studentMs, teacherMs, classMs, studentIntervals: [], teacherIntervals: [] };
}

const RELEASE = { action: 'release', outcome: 'attended' };
const REFUND = { action: 'refund', outcome: 'low_attendance' };
const STUDENT_NO_SHOW = { action: 'review', outcome: 'student_no_show' };
const TEACHER_NO_SHOW = { action: 'review', outcome: 'teacher_no_show' };

describe('domain/settlement', () => {
  describe('decideAtFinalisation', () => {
    it('when the teacher is present and the student attended at least 20%, then the money is released', () => {
      assert.deepEqual(decideAtFinalisation(attendance(HOUR_MS, HOUR_MS), RELEASE_PERCENT), RELEASE);
      assert.deepEqual(decideAtFinalisation(attendance(HOUR_MS / 2, 1), RELEASE_PERCENT), RELEASE);
    });

    it('when the student attended exactly 20%, then the money is released (the boundary is included)', () => {
      assert.deepEqual(decideAtFinalisation(attendance(720_000, HOUR_MS), RELEASE_PERCENT), RELEASE);
      assert.deepEqual(decideAtFinalisation(attendance(719_999, HOUR_MS), RELEASE_PERCENT), REFUND);
      // 20% of 3 600 001 ms is 720 000.2 ms: 720 000 is below it, 720 001 above.
      assert.deepEqual(
        decideAtFinalisation(attendance(720_000, HOUR_MS, HOUR_MS + 1), RELEASE_PERCENT),
        REFUND,
      );
      assert.deepEqual(
        decideAtFinalisation(attendance(720_001, HOUR_MS, HOUR_MS + 1), RELEASE_PERCENT),
        RELEASE,
      );
    });

    it('when the teacher is present and the student attended above 0 and below 20%, then the student is refunded', () => {
      assert.deepEqual(decideAtFinalisation(attendance(1, HOUR_MS), RELEASE_PERCENT), REFUND);
      assert.deepEqual(decideAtFinalisation(attendance(600_000, HOUR_MS), RELEASE_PERCENT), REFUND);
    });

    it('when the teacher is present and the student never joined, then it goes to review as a student no-show', () => {
      assert.deepEqual(decideAtFinalisation(attendance(0, HOUR_MS), RELEASE_PERCENT), STUDENT_NO_SHOW);
      assert.deepEqual(decideAtFinalisation(attendance(0, 1), RELEASE_PERCENT), STUDENT_NO_SHOW);
    });

    it('when the teacher is absent, then it goes to review as a teacher no-show whatever the student did', () => {
      for (const studentMs of [0, 1, 719_999, 720_000, HOUR_MS]) {
        assert.deepEqual(decideAtFinalisation(attendance(studentMs, 0), RELEASE_PERCENT), TEACHER_NO_SHOW);
      }
    });

    it('when the release threshold is configured, then the boundary follows it', () => {
      assert.deepEqual(decideAtFinalisation(attendance(HOUR_MS / 2, HOUR_MS), 50), RELEASE);
      assert.deepEqual(decideAtFinalisation(attendance(HOUR_MS / 2 - 1, HOUR_MS), 50), REFUND);
      assert.deepEqual(decideAtFinalisation(attendance(HOUR_MS, HOUR_MS), 100), RELEASE);
      assert.deepEqual(decideAtFinalisation(attendance(HOUR_MS - 1, HOUR_MS), 100), REFUND);
    });

    it('when any attendance is judged, then the decision is the table’s row', () => {
      const arb = fc.integer({ min: 1, max: 4 * HOUR_MS }).chain((classMs) =>
        fc.record({
          classMs: fc.constant(classMs),
          studentMs: fc.oneof(
            fc.constantFrom(0, 1, classMs),
            fc.integer({ min: 0, max: classMs }),
            fc.integer({ min: -2, max: 2 }).map((d) => Math.max(0, Math.ceil(classMs / 5) + d)),
          ),
          teacherMs: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: classMs })),
          percent: fc.oneof(fc.constant(RELEASE_PERCENT), fc.integer({ min: 1, max: 100 })),
        }),
      );
      fc.assert(
        fc.property(arb, ({ classMs, studentMs, teacherMs, percent }) => {
          const expected =
            teacherMs === 0
              ? TEACHER_NO_SHOW
              : studentMs === 0
                ? STUDENT_NO_SHOW
                : BigInt(studentMs) * 100n >= BigInt(percent) * BigInt(classMs)
                  ? RELEASE
                  : REFUND;
          assert.deepEqual(
            decideAtFinalisation(attendance(studentMs, teacherMs, classMs), percent),
            expected,
          );
        }),
        { numRuns: 1000 },
      );
    });

    it('when attendance comes from webhook events, then 12 minutes of a 1-hour class release and 1 second refunds', () => {
      const startMs = Date.UTC(2026, 0, 5, 10);
      const window = { startMs, endMs: startMs + HOUR_MS };
      const identities = { student: 'user-student', teacher: 'user-teacher' };
      const event = (
        id: string,
        kind: PresenceEvent['kind'],
        afterS: number,
        identity?: string,
      ): PresenceEvent => ({
        id,
        kind,
        atMs: startMs + afterS * 1000,
        identity,
        participantSid: `PA_${identity}`,
      });
      const teacher = [
        event('t1', 'participant_joined', -60, identities.teacher),
        event('t2', 'participant_left', 3600, identities.teacher),
      ];
      const decide = (events: PresenceEvent[]) =>
        decideAtFinalisation(attendanceOf(events, identities, window), RELEASE_PERCENT);

      const twelveMinutes = [
        event('s1', 'participant_joined', 600, identities.student),
        event('s2', 'participant_left', 1320, identities.student),
      ];
      assert.deepEqual(decide([...teacher, ...twelveMinutes]), RELEASE);
      const justUnder = [
        event('s1', 'participant_joined', 601, identities.student),
        event('s2', 'participant_left', 1320, identities.student),
      ];
      assert.deepEqual(decide([...teacher, ...justUnder]), REFUND);
      const oneSecond = [
        event('s1', 'participant_joined', 600, identities.student),
        event('s2', 'participant_left', 601, identities.student),
      ];
      assert.deepEqual(decide([...teacher, ...oneSecond]), REFUND);
      assert.deepEqual(decide(teacher), STUDENT_NO_SHOW);
      // The teacher there only before the start: absent.
      const teacherBefore = [
        event('t1', 'participant_joined', -600, identities.teacher),
        event('t2', 'participant_left', 0, identities.teacher),
      ];
      assert.deepEqual(decide([...teacherBefore, ...twelveMinutes]), TEACHER_NO_SHOW);
    });
  });

  describe('plans', () => {
    it('when the money is released, then the teacher gets the share rounded down and the platform the rest', () => {
      assert.deepEqual(planRelease(999, 70, 'attended'), {
        outcome: 'attended',
        refundPercent: 0,
        amounts: { refund: 0, kept: 999, teacher: 699, platform: 300 },
        settlement: 'released',
      });
      assert.deepEqual(planRelease(999, 30, 'attended').amounts, {
        refund: 0,
        kept: 999,
        teacher: 299,
        platform: 700,
      });
    });

    it('when the student is refunded for low attendance, then all of it goes back and it is refunded', () => {
      assert.deepEqual(planRefund(999, 70, 'low_attendance'), {
        outcome: 'low_attendance',
        refundPercent: 100,
        amounts: { refund: 999, kept: 0, teacher: 0, platform: 0 },
        settlement: 'refunded',
      });
    });

    it('when any part is refunded, then the settlement says released, refunded or partially refunded by where the money went', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1_000_000 }),
          fc.integer({ min: 0, max: 100 }),
          fc.integer({ min: 0, max: 100 }),
          (price, share, refundPercent) => {
            const plan = planSettlement(price, share, refundPercent, 'admin_partial');
            const { refund, kept, teacher, platform } = plan.amounts;
            assert.equal(refund + teacher + platform, price);
            assert.equal(
              plan.settlement,
              kept === 0 ? 'refunded' : refund === 0 ? 'released' : 'partially_refunded',
            );
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('planReviewDecision', () => {
    it('when an admin releases, then the teacher is paid the share and the booking is released', () => {
      assert.deepEqual(planReviewDecision(999, 30, { decision: 'release' }), {
        outcome: 'admin_release',
        refundPercent: 0,
        amounts: { refund: 0, kept: 999, teacher: 299, platform: 700 },
        settlement: 'released',
      });
    });

    it('when an admin refunds, then the student gets everything back and the booking is refunded', () => {
      assert.deepEqual(planReviewDecision(999, 30, { decision: 'refund' }), {
        outcome: 'admin_refund',
        refundPercent: 100,
        amounts: { refund: 999, kept: 0, teacher: 0, platform: 0 },
        settlement: 'refunded',
      });
    });

    it('when an admin refunds part, then refundPercent goes back, the rest is split and the booking is partially refunded', () => {
      assert.deepEqual(planReviewDecision(999, 30, { decision: 'partial', refundPercent: 40 }), {
        outcome: 'admin_partial',
        refundPercent: 40,
        amounts: { refund: 399, kept: 600, teacher: 180, platform: 420 },
        settlement: 'partially_refunded',
      });
      assert.deepEqual(planReviewDecision(1000, 70, { decision: 'partial', refundPercent: 50 }).amounts, {
        refund: 500,
        kept: 500,
        teacher: 350,
        platform: 150,
      });
    });

    it('when a partial refund is 0% or 100%, then the booking is released or refunded', () => {
      const none = planReviewDecision(999, 30, { decision: 'partial', refundPercent: 0 });
      assert.equal(none.settlement, 'released');
      assert.equal(none.outcome, 'admin_partial');
      const all = planReviewDecision(999, 30, { decision: 'partial', refundPercent: 100 });
      assert.equal(all.settlement, 'refunded');
      assert.equal(all.outcome, 'admin_partial');
    });

    it('when a partial refundPercent is outside 0..100 or fractional, then an invariant error is thrown', () => {
      for (const refundPercent of [-1, 101, 12.5, Number.NaN]) {
        assert.throws(
          () => planReviewDecision(999, 30, { decision: 'partial', refundPercent }),
          InvariantError,
          String(refundPercent),
        );
      }
    });
  });
});
