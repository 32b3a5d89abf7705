// A booking's money in the ledger. Every transfer id is derived from the
// booking and what the transfer is, so a retried request or activity names
// the same transfer and the ledger answers `exists` instead of moving money
// twice.
import { systemAccountId, userAccountId } from '../ledger/accounts';
import { nameUuid } from '../ledger/ids';
import type { Reference, TransferSpec } from '../ledger/types';
import type { Outcome } from '../domain/booking';
import type { SettlementPlan } from '../domain/settlement';

export const bookingTransferIds = (bookingId: string) => ({
  hold: nameUuid('booking', bookingId, 'hold'),
  resolve: nameUuid('booking', bookingId, 'resolve'),
  teacherShare: nameUuid('booking', bookingId, 'teacher-share'),
  platformFee: nameUuid('booking', bookingId, 'platform-fee'),
});

const referenceTo = (bookingId: string): Reference => ({ type: 'booking', id: bookingId });

/** The price leaves the student's wallet into escrow, pending until settled. */
export function holdTransfer(
  booking: { id: string; studentId: string; price: number; title: string },
  currency: string,
): TransferSpec {
  return {
    id: bookingTransferIds(booking.id).hold,
    kind: 'pending',
    debitAccountId: userAccountId(booking.studentId, 'wallet'),
    creditAccountId: systemAccountId('escrow', currency),
    amount: booking.price,
    code: 'booking_hold',
    reference: referenceTo(booking.id),
    description: `Booking: ${booking.title}`.slice(0, 500),
  };
}

/**
 * Settles the hold as planned: all of it returned (void), or the kept part
 * posted (the rest returns to the student by itself) and split between the
 * teacher's earnings and platform revenue. One chain: all or nothing.
 */
export function settlementChain(
  booking: { id: string; teacherId: string; title?: string },
  plan: SettlementPlan,
  currency: string,
): TransferSpec[] {
  const ids = bookingTransferIds(booking.id);
  const reference = referenceTo(booking.id);
  const { amounts } = plan;
  if (amounts.kept === 0) {
    return [
      {
        id: ids.resolve,
        kind: 'void_pending',
        pendingId: ids.hold,
        code: 'booking_refund',
        reference,
        description: refundDescription('Refund', booking.title, plan.outcome),
      },
    ];
  }
  const escrow = systemAccountId('escrow', currency);
  const chain: TransferSpec[] = [
    {
      id: ids.resolve,
      kind: 'post_pending',
      pendingId: ids.hold,
      amount: amounts.kept,
      code: 'booking_charge',
      reference,
      ...(amounts.refund > 0
        ? { description: refundDescription('Partial refund', booking.title, plan.outcome) }
        : {}),
    },
  ];
  if (amounts.teacher > 0) {
    chain.push({
      id: ids.teacherShare,
      kind: 'posted',
      debitAccountId: escrow,
      creditAccountId: userAccountId(booking.teacherId, 'earnings'),
      amount: amounts.teacher,
      code: 'teacher_share',
      reference,
      description: 'Class earnings',
    });
  }
  if (amounts.platform > 0) {
    chain.push({
      id: ids.platformFee,
      kind: 'posted',
      debitAccountId: escrow,
      creditAccountId: systemAccountId('platform_revenue', currency),
      amount: amounts.platform,
      code: 'platform_fee',
      reference,
    });
  }
  return chain;
}

/** Why money came back, as the student reads it on their statement beside the class's name. */
const REFUND_REASONS: Partial<Record<Outcome, string>> = {
  low_attendance: 'attendance too low',
  teacher_no_show: 'the teacher did not come',
  cancelled_by_teacher: 'cancelled by the teacher',
  cancelled_by_admin: 'cancelled by an admin',
  cancelled_early: 'cancelled in time',
  cancelled_late: 'cancelled late, a fee kept',
  admin_refund: 'decided on review',
  admin_partial: 'decided on review',
};

// The description is part of the transfer (a resubmission must match it), and
// the settle step submits its chain only while the booking is held, in the
// transaction that settles it: a retry after the commit never submits again.
function refundDescription(
  what: 'Refund' | 'Partial refund',
  title: string | undefined,
  outcome: Outcome,
): string {
  const reason = REFUND_REASONS[outcome];
  return `${what}: ${title ?? 'class'}${reason === undefined ? '' : ` (${reason})`}`.slice(0, 500);
}
