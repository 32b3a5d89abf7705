// The ledger's vocabulary. Amounts are integers in minor units of the ledger's
// one currency, never floats.

export type AccountCode = 'wallet' | 'earnings' | 'escrow' | 'platform_revenue' | 'external' | 'payouts';

export type TransferKind = 'posted' | 'pending' | 'post_pending' | 'void_pending';

/** Each business code has exactly one kind (the ledger_transfer_codes table says the same). */
export const TRANSFER_CODE_KINDS = {
  deposit: 'posted',
  topup: 'posted',
  booking_hold: 'pending',
  booking_charge: 'post_pending',
  booking_refund: 'void_pending',
  teacher_share: 'posted',
  platform_fee: 'posted',
  withdrawal_hold: 'pending',
  withdrawal_payout: 'post_pending',
  withdrawal_rejected: 'void_pending',
  withdrawal_failed: 'void_pending',
} as const satisfies Record<string, TransferKind>;

export type TransferCode = keyof typeof TRANSFER_CODE_KINDS;

export type ReferenceType = 'booking' | 'withdrawal' | 'payment';

export interface Reference {
  type: ReferenceType;
  id: string;
}

interface TransferCommon {
  /** Caller-chosen UUID; the idempotency key of this transfer. */
  id: string;
  code: TransferCode;
  reference?: Reference;
  description?: string;
}

/** Moves `amount` at once (`posted`) or reserves it (`pending`) until posted or voided. */
export interface NewTransfer extends TransferCommon {
  kind: 'posted' | 'pending';
  debitAccountId: string;
  creditAccountId: string;
  amount: number;
}

/** Posts a pending transfer: `amount` (default: all of it) moves, the rest is released. */
export interface PostPending extends TransferCommon {
  kind: 'post_pending';
  pendingId: string;
  amount?: number;
}

/** Releases a pending transfer entirely. */
export interface VoidPending extends TransferCommon {
  kind: 'void_pending';
  pendingId: string;
}

export type TransferSpec = NewTransfer | PostPending | VoidPending;

/** Expected refusals: the chain was not applied and nothing changed. */
export type RefusalReason =
  | 'exceeds_credits'
  | 'exceeds_debits'
  | 'exists_with_different_fields'
  | 'linked_chain_partially_exists'
  | 'pending_transfer_not_found'
  | 'pending_transfer_not_pending'
  | 'pending_transfer_already_posted'
  | 'pending_transfer_already_voided'
  | 'pending_transfer_has_different_accounts'
  | 'pending_transfer_has_different_amount'
  | 'exceeds_pending_transfer_amount'
  | 'debit_account_not_found'
  | 'credit_account_not_found'
  | 'accounts_have_different_currencies';

export type ChainResult =
  /** Applied now. */
  | { status: 'created' }
  /** Applied before with exactly these fields: an idempotent retry; nothing changed. */
  | { status: 'exists' }
  /** Refused; `index` is the 0-based position of the transfer that failed. */
  | { status: 'refused'; reason: RefusalReason; index: number };

export interface AccountBalance {
  accountId: string;
  debitsPending: number;
  debitsPosted: number;
  creditsPending: number;
  creditsPosted: number;
}
