// Splitting integer amounts (SPEC sections 2 and 3): the teacher share is
// rounded down, the platform gets the remainder, a refund percentage is rounded
// down, a course's price over its sessions puts the remainder on the first
// one; nothing is ever lost or created. Expected values are computed with
// BigInt, independently of the code's float-free arithmetic.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvariantError } from '../../domain/assert';
import { percentOf, settlementAmounts, splitEvenly, splitShare } from '../../domain/money';

/** The largest amount a percentage can be taken of exactly. */
const MAX_EXACT = Math.floor(Number.MAX_SAFE_INTEGER / 100);

const amountArb = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.integer({ min: 0, max: 100_000_000 }),
  fc.integer({ min: MAX_EXACT - 1000, max: MAX_EXACT }),
);
const percentArb = fc.oneof(fc.constantFrom(0, 1, 30, 50, 70, 99, 100), fc.integer({ min: 0, max: 100 }));

const floorPercent = (amount: number, percent: number): number =>
  Number((BigInt(amount) * BigInt(percent)) / 100n);

const isAmount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

describe('domain/money', () => {
  describe('percentOf', () => {
    it('when a percentage of any amount is taken, then it is the exact value rounded down', () => {
      fc.assert(
        fc.property(amountArb, percentArb, (amount, percent) => {
          assert.equal(percentOf(amount, percent), floorPercent(amount, percent));
        }),
        { numRuns: 1000 },
      );
    });

    it('when the amount or the percent is not a valid one, then an invariant error is thrown', () => {
      const bad: [number, number][] = [
        [-1, 30],
        [1.5, 30],
        [Number.NaN, 30],
        [Number.POSITIVE_INFINITY, 30],
        [MAX_EXACT + 1, 30],
        [Number.MAX_SAFE_INTEGER + 1, 30],
        [100, 101],
        [100, -1],
        [100, 12.5],
        [100, Number.NaN],
      ];
      for (const [amount, percent] of bad) {
        assert.throws(() => percentOf(amount, percent), InvariantError, `percentOf(${amount}, ${percent})`);
      }
    });
  });

  describe('splitShare', () => {
    it('when a released amount is split, then the teacher share is rounded down and the platform gets the rest', () => {
      fc.assert(
        fc.property(amountArb, percentArb, (amount, percent) => {
          const { teacher, platform } = splitShare(amount, percent);
          assert.ok(isAmount(teacher) && isAmount(platform));
          assert.equal(teacher + platform, amount);
          // Rounded down: teacher <= amount * percent / 100 < teacher + 1.
          assert.ok(BigInt(teacher) * 100n <= BigInt(amount) * BigInt(percent));
          assert.ok(BigInt(amount) * BigInt(percent) < BigInt(teacher + 1) * 100n);
        }),
        { numRuns: 1000 },
      );
    });

    it('when 999 is released at 70% or 30%, then the teacher gets 699 or 299 and the platform 300 or 700', () => {
      assert.deepEqual(splitShare(999, 70), { teacher: 699, platform: 300 });
      assert.deepEqual(splitShare(999, 30), { teacher: 299, platform: 700 });
      assert.deepEqual(splitShare(1, 70), { teacher: 0, platform: 1 });
      assert.deepEqual(splitShare(1, 100), { teacher: 1, platform: 0 });
      assert.deepEqual(splitShare(0, 70), { teacher: 0, platform: 0 });
    });

    it('when the amount is negative or fractional or the percent is out of 0..100, then an invariant error is thrown', () => {
      assert.throws(() => splitShare(-999, 30), InvariantError);
      assert.throws(() => splitShare(999.5, 30), InvariantError);
      assert.throws(() => splitShare(999, 101), InvariantError);
      assert.throws(() => splitShare(999, -30), InvariantError);
      assert.throws(() => splitShare(999, 30.5), InvariantError);
    });
  });

  describe('settlementAmounts', () => {
    it('when a price is settled with any refund and share, then refund + teacher + platform = price, all non-negative integers', () => {
      fc.assert(
        fc.property(amountArb, percentArb, percentArb, (price, refundPercent, sharePercent) => {
          const amounts = settlementAmounts(price, refundPercent, sharePercent);
          for (const part of [amounts.refund, amounts.kept, amounts.teacher, amounts.platform]) {
            assert.ok(isAmount(part), `${part} is a non-negative integer`);
          }
          assert.equal(amounts.refund + amounts.teacher + amounts.platform, price);
          assert.equal(amounts.kept, price - amounts.refund);
          assert.equal(amounts.refund, floorPercent(price, refundPercent));
          assert.equal(amounts.teacher, floorPercent(amounts.kept, sharePercent));
          assert.equal(amounts.platform, amounts.kept - amounts.teacher);
        }),
        { numRuns: 1000 },
      );
    });

    it('when 999 is settled, then the odd units go to the platform (release) or stay kept (refund rounded down)', () => {
      assert.deepEqual(settlementAmounts(999, 0, 70), { refund: 0, kept: 999, teacher: 699, platform: 300 });
      assert.deepEqual(settlementAmounts(999, 0, 30), { refund: 0, kept: 999, teacher: 299, platform: 700 });
      assert.deepEqual(settlementAmounts(999, 100, 30), { refund: 999, kept: 0, teacher: 0, platform: 0 });
      // A late cancellation: 50% back (499.5 rounded down), 500 kept and split.
      assert.deepEqual(settlementAmounts(999, 50, 30), {
        refund: 499,
        kept: 500,
        teacher: 150,
        platform: 350,
      });
      assert.deepEqual(settlementAmounts(999, 50, 70), {
        refund: 499,
        kept: 500,
        teacher: 350,
        platform: 150,
      });
    });

    it('when the price is negative or fractional or a percent is out of 0..100, then an invariant error is thrown', () => {
      assert.throws(() => settlementAmounts(-1, 50, 30), InvariantError);
      assert.throws(() => settlementAmounts(10.25, 50, 30), InvariantError);
      assert.throws(() => settlementAmounts(999, 101, 30), InvariantError);
      assert.throws(() => settlementAmounts(999, -1, 30), InvariantError);
      assert.throws(() => settlementAmounts(999, 50, 101), InvariantError);
      assert.throws(() => settlementAmounts(999, 50, 0.5), InvariantError);
    });
  });

  describe('splitEvenly', () => {
    it('when a total is split into parts, then the parts add up, are equal but for the remainder on the first', () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
          fc.integer({ min: 1, max: 60 }),
          (total, parts) => {
            const shares = splitEvenly(total, parts);
            assert.equal(shares.length, parts);
            assert.ok(shares.every(isAmount));
            assert.equal(
              shares.reduce((sum, s) => sum + BigInt(s), 0n),
              BigInt(total),
            );
            const base = BigInt(total) / BigInt(parts);
            const remainder = BigInt(total) % BigInt(parts);
            assert.equal(BigInt(shares[0]!), base + remainder);
            for (const share of shares.slice(1)) assert.equal(BigInt(share), base);
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('when 1001 is split over 3 sessions, then they cost 335, 333 and 333', () => {
      assert.deepEqual(splitEvenly(1001, 3), [335, 333, 333]);
      assert.deepEqual(splitEvenly(999, 1), [999]);
      assert.deepEqual(splitEvenly(2, 3), [2, 0, 0]);
      assert.deepEqual(splitEvenly(0, 2), [0, 0]);
    });

    it('when the total is negative or fractional or the parts are not a positive integer, then an invariant error is thrown', () => {
      assert.throws(() => splitEvenly(-1001, 3), InvariantError);
      assert.throws(() => splitEvenly(1001.5, 3), InvariantError);
      assert.throws(() => splitEvenly(1001, 0), InvariantError);
      assert.throws(() => splitEvenly(1001, -3), InvariantError);
      assert.throws(() => splitEvenly(1001, 1.5), InvariantError);
      assert.throws(() => splitEvenly(1001, Number.NaN), InvariantError);
    });
  });
});
