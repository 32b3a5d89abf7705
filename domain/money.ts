// Splitting integer amounts (minor units). Nothing is ever lost or created:
// every split's parts add up to what was split, and every function asserts it.
import { assert } from './assert';

function assertAmount(amount: number, what: string): void {
  assert(
    Number.isSafeInteger(amount) && amount >= 0,
    `${what} must be a non-negative integer, got ${amount}`,
  );
}

function assertPercent(percent: number, what: string): void {
  assert(
    Number.isInteger(percent) && percent >= 0 && percent <= 100,
    `${what} must be 0..100, got ${percent}`,
  );
}

/** `percent` of `amount`, rounded down (exact integer arithmetic, no floats). */
export function percentOf(amount: number, percent: number): number {
  assertAmount(amount, 'amount');
  assertPercent(percent, 'percent');
  // amount * percent stays exact: amounts are bounded far below 2^53 / 100.
  assert(amount <= Number.MAX_SAFE_INTEGER / 100, 'amount too large to take a percentage of exactly');
  return Math.floor((amount * percent) / 100);
}

export interface ShareSplit {
  teacher: number;
  platform: number;
}

/** A released amount: the teacher's share rounded down, the remainder to the platform. */
export function splitShare(amount: number, teacherSharePercent: number): ShareSplit {
  const teacher = percentOf(amount, teacherSharePercent);
  const split = { teacher, platform: amount - teacher };
  assert(split.teacher + split.platform === amount && split.platform >= 0, 'share split must add up');
  return split;
}

export interface SettlementAmounts {
  /** Returned to the student. */
  refund: number;
  /** Kept and split between teacher and platform. */
  kept: number;
  teacher: number;
  platform: number;
}

/**
 * How a held price is settled: `refundPercent` of it goes back to the student
 * (rounded down), the rest is kept and split like a release.
 */
export function settlementAmounts(
  price: number,
  refundPercent: number,
  teacherSharePercent: number,
): SettlementAmounts {
  const refund = percentOf(price, refundPercent);
  const kept = price - refund;
  const { teacher, platform } = splitShare(kept, teacherSharePercent);
  assert(refund + teacher + platform === price, 'settlement must add up to the price');
  return { refund, kept, teacher, platform };
}

/**
 * A course's full price over its sessions: equal parts, the remainder (the
 * few minor units that do not divide) on the first session.
 */
export function splitEvenly(total: number, parts: number): number[] {
  assertAmount(total, 'total');
  assert(Number.isInteger(parts) && parts >= 1, `parts must be a positive integer, got ${parts}`);
  const base = Math.floor(total / parts);
  const shares = Array.from({ length: parts }, (_, i) => (i === 0 ? base + (total - base * parts) : base));
  assert(shares.reduce((a, b) => a + b, 0) === total, 'course price split must add up');
  return shares;
}
