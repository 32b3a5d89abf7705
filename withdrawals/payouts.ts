// Paying a withdrawal out through a provider. `manual` needs nothing here (an
// admin makes the bank transfer and reports it); `stripe` is a Stripe Connect
// transfer to the teacher's connected account, whose idempotency key is
// derived from the withdrawal id: a retried payout (a timeout, a worker killed
// after Stripe answered) names the same transfer and cannot pay twice.

export interface ConnectTransferInput {
  withdrawalId: string;
  amount: number;
  currency: string;
  /** The teacher's connected account, `acct_...`. */
  destination: string;
}

export interface ConnectPayouts {
  /** Pays out; the same withdrawal id twice makes one transfer. */
  transfer(input: ConnectTransferInput): Promise<{ transferId: string }>;
  /** A refusal that will not change by trying again (an invalid account, insufficient platform balance). */
  isPermanentFailure(error: unknown): boolean;
}

export class PayoutsUnavailableError extends Error {
  constructor() {
    super('Stripe payouts are not configured (STRIPE_SECRET_KEY is unset)');
    this.name = 'PayoutsUnavailableError';
  }
}

/** Where Stripe is not configured: every payout is refused for good, so the money goes back. */
export const unconfiguredPayouts: ConnectPayouts = {
  transfer: () => Promise.reject(new PayoutsUnavailableError()),
  isPermanentFailure: (error) => error instanceof PayoutsUnavailableError,
};
