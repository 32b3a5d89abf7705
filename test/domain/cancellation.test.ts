// The cancellation table of SPEC section 2: before the scheduled start only;
// a teacher (or an admin) refunds everything; a student gets everything back
// at least LATE_CANCEL_HOURS before the start and LATE_CANCEL_REFUND_PERCENT
// later, the rest being a late-cancellation fee split like a release.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cancellationTerms, type Canceller } from '../../domain/cancellation';
import { planSettlement } from '../../domain/settlement';

const HOUR_MS = 3_600_000;
const POLICY = { lateCancelHours: 24, lateCancelRefundPercent: 50 };
const STARTS_AT = Date.UTC(2026, 2, 10, 9);

const before = (ms: number) => STARTS_AT - ms;

describe('domain/cancellation', () => {
  it('when the teacher cancels any time before the start, then the student gets 100% back', () => {
    for (const ahead of [30 * 24 * HOUR_MS, 24 * HOUR_MS, 24 * HOUR_MS - 1, HOUR_MS, 1]) {
      assert.deepEqual(cancellationTerms('teacher', before(ahead), STARTS_AT, POLICY), {
        allowed: true,
        refundPercent: 100,
        outcome: 'cancelled_by_teacher',
      });
    }
  });

  it('when the student cancels at least 24 hours before the start, then they get 100% back', () => {
    for (const ahead of [30 * 24 * HOUR_MS, 24 * HOUR_MS + 1]) {
      assert.deepEqual(cancellationTerms('student', before(ahead), STARTS_AT, POLICY), {
        allowed: true,
        refundPercent: 100,
        outcome: 'cancelled_early',
      });
    }
  });

  it('when the student cancels exactly 24 hours before the start, then they get 100% back (the boundary is early)', () => {
    assert.deepEqual(cancellationTerms('student', before(24 * HOUR_MS), STARTS_AT, POLICY), {
      allowed: true,
      refundPercent: 100,
      outcome: 'cancelled_early',
    });
  });

  it('when the student cancels less than 24 hours before the start, then they get LATE_CANCEL_REFUND_PERCENT back', () => {
    for (const ahead of [24 * HOUR_MS - 1, 12 * HOUR_MS, 1]) {
      assert.deepEqual(cancellationTerms('student', before(ahead), STARTS_AT, POLICY), {
        allowed: true,
        refundPercent: 50,
        outcome: 'cancelled_late',
      });
    }
  });

  it('when the student cancels late, then the rest is a fee split like a release', () => {
    const terms = cancellationTerms('student', before(HOUR_MS), STARTS_AT, POLICY);
    assert.ok(terms.allowed);
    assert.deepEqual(planSettlement(999, 30, terms.refundPercent, terms.outcome), {
      outcome: 'cancelled_late',
      refundPercent: 50,
      amounts: { refund: 499, kept: 500, teacher: 150, platform: 350 },
      settlement: 'partially_refunded',
    });
  });

  it('when an admin cancels before the start, then the student gets 100% back as cancelled by admin', () => {
    for (const ahead of [30 * 24 * HOUR_MS, 24 * HOUR_MS, 1]) {
      assert.deepEqual(cancellationTerms('admin', before(ahead), STARTS_AT, POLICY), {
        allowed: true,
        refundPercent: 100,
        outcome: 'cancelled_by_admin',
      });
    }
  });

  it('when anyone cancels at or after the start, then it is refused', () => {
    for (const by of ['teacher', 'student', 'admin'] as const) {
      for (const nowMs of [STARTS_AT, STARTS_AT + 1, STARTS_AT + 2 * HOUR_MS]) {
        const terms = cancellationTerms(by, nowMs, STARTS_AT, POLICY);
        assert.equal(terms.allowed, false, `${by} at start + ${nowMs - STARTS_AT} ms`);
      }
    }
  });

  it('when the policy is configured, then its hours and percent are used', () => {
    const policy = { lateCancelHours: 48, lateCancelRefundPercent: 25 };
    assert.deepEqual(cancellationTerms('student', before(48 * HOUR_MS), STARTS_AT, policy), {
      allowed: true,
      refundPercent: 100,
      outcome: 'cancelled_early',
    });
    assert.deepEqual(cancellationTerms('student', before(48 * HOUR_MS - 1), STARTS_AT, policy), {
      allowed: true,
      refundPercent: 25,
      outcome: 'cancelled_late',
    });
  });

  it('when anyone cancels at any time, then the terms are the table’s row', () => {
    const arb = fc.record({
      by: fc.constantFrom<Canceller>('teacher', 'student', 'admin'),
      offsetMs: fc.oneof(
        fc.integer({ min: -3 * 24 * HOUR_MS, max: 3 * 24 * HOUR_MS }),
        fc.integer({ min: -2, max: 2 }).map((d) => -24 * HOUR_MS + d),
        fc.integer({ min: -2, max: 2 }),
      ),
      lateCancelHours: fc.oneof(fc.constant(24), fc.integer({ min: 0, max: 72 })),
      lateCancelRefundPercent: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(arb, ({ by, offsetMs, lateCancelHours, lateCancelRefundPercent }) => {
        const nowMs = STARTS_AT + offsetMs;
        const terms = cancellationTerms(by, nowMs, STARTS_AT, { lateCancelHours, lateCancelRefundPercent });
        if (nowMs >= STARTS_AT) {
          assert.equal(terms.allowed, false);
          return;
        }
        const expected =
          by === 'teacher'
            ? { refundPercent: 100, outcome: 'cancelled_by_teacher' }
            : by === 'admin'
              ? { refundPercent: 100, outcome: 'cancelled_by_admin' }
              : STARTS_AT - nowMs >= lateCancelHours * HOUR_MS
                ? { refundPercent: 100, outcome: 'cancelled_early' }
                : { refundPercent: lateCancelRefundPercent, outcome: 'cancelled_late' };
        assert.deepEqual(terms, { allowed: true, ...expected });
      }),
      { numRuns: 500 },
    );
  });
});
