// A withdrawal's money in the ledger. The amount is held on the teacher's
// earnings (a pending transfer to the payouts account) from the request on;
// the payout posts it (the money has left the platform), a rejection or a
// failed payout voids it (the teacher has it back). Every transfer id is
// derived from the withdrawal, so a retried request or activity names the
// same transfer and cannot move money twice.
import { systemAccountId, userAccountId } from '../ledger/accounts';
import { nameUuid } from '../ledger/ids';
import type { Reference, TransferSpec } from '../ledger/types';

export const withdrawalTransferIds = (withdrawalId: string) => ({
  hold: nameUuid('withdrawal', withdrawalId, 'hold'),
  /** The one resolution of the hold: posted (paid out) or voided (rejected, failed). */
  resolve: nameUuid('withdrawal', withdrawalId, 'resolve'),
});

const referenceTo = (withdrawalId: string): Reference => ({ type: 'withdrawal', id: withdrawalId });

/** The amount leaves the teacher's available earnings, pending until paid out or returned. */
export function withdrawalHold(
  withdrawal: { id: string; teacherId: string; amount: number },
  currency: string,
): TransferSpec {
  return {
    id: withdrawalTransferIds(withdrawal.id).hold,
    kind: 'pending',
    debitAccountId: userAccountId(withdrawal.teacherId, 'earnings'),
    creditAccountId: systemAccountId('payouts', currency),
    amount: withdrawal.amount,
    code: 'withdrawal_hold',
    reference: referenceTo(withdrawal.id),
    description: 'Withdrawal',
  };
}

/** Paid out: the held amount leaves the platform. */
export function withdrawalPayout(withdrawalId: string, description: string): TransferSpec {
  const ids = withdrawalTransferIds(withdrawalId);
  return {
    id: ids.resolve,
    kind: 'post_pending',
    pendingId: ids.hold,
    code: 'withdrawal_payout',
    reference: referenceTo(withdrawalId),
    description: description.slice(0, 500),
  };
}

/** Not paid: the held amount returns to the teacher's available earnings. */
export function withdrawalReturn(
  withdrawalId: string,
  why: 'rejected' | 'failed',
  description: string,
): TransferSpec {
  const ids = withdrawalTransferIds(withdrawalId);
  return {
    id: ids.resolve,
    kind: 'void_pending',
    pendingId: ids.hold,
    code: why === 'rejected' ? 'withdrawal_rejected' : 'withdrawal_failed',
    reference: referenceTo(withdrawalId),
    description: description.slice(0, 500),
  };
}
