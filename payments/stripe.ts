// Stripe, through its SDK: Checkout Sessions for credit top-ups, webhook
// verification, and Connect transfers for payouts. Built once by the
// composition root (platform/platform.ts) from STRIPE_SECRET_KEY,
// STRIPE_WEBHOOK_SECRET and STRIPE_API_URL; without a secret key it exists
// but refuses every call (StripeNotConfiguredError), so the rest of the
// application needs no "is Stripe there?" branches of its own.
//
// Every call that creates something at Stripe carries an idempotency key
// derived from what it is (the user's request, the withdrawal), so a retried
// request or activity gets the first result back instead of a second charge
// or transfer.
import { createHash } from 'node:crypto';
import Stripe from 'stripe';

export interface StripeGatewayConfig {
  /** STRIPE_SECRET_KEY; undefined: Stripe is not configured. */
  secretKey: string | undefined;
  /** STRIPE_WEBHOOK_SECRET; undefined: no webhook can be verified. */
  webhookSecret: string | undefined;
  /** STRIPE_API_URL; undefined: Stripe's own API. */
  apiUrl?: string | undefined;
  /** The SDK's own retries of a call (connection errors, 409, 5xx), with its backoff; default 2. */
  maxNetworkRetries?: number;
  /** Per call, in ms (default 30 s: an activity's start-to-close timeout must be longer). */
  timeoutMs?: number;
}

/** What this service reads of a Checkout Session. */
export interface CheckoutSessionView {
  id: string;
  /** `open`, `complete` or `expired`. */
  status: string | null;
  /** `paid`, `unpaid` or `no_payment_required`. */
  paymentStatus: string;
  /** Minor units; null when Stripe does not say. */
  amountTotal: number | null;
  currency: string | null;
  metadata: Record<string, string>;
  /** Where the customer pays (null once the session is no longer open). */
  url: string | null;
  /** Seconds since the epoch, as Stripe counts. */
  created: number;
}

/** Stripe is not configured (STRIPE_SECRET_KEY, or STRIPE_WEBHOOK_SECRET for webhooks, unset). */
export class StripeNotConfiguredError extends Error {
  constructor(missing: 'STRIPE_SECRET_KEY' | 'STRIPE_WEBHOOK_SECRET') {
    super(`Stripe is not configured: ${missing} is unset`);
    this.name = 'StripeNotConfiguredError';
  }
}

/** A webhook whose signature is missing, malformed, stale or does not match the raw body. */
export class StripeWebhookSignatureError extends Error {
  constructor(reason: string) {
    super(`Stripe webhook refused: ${reason}`);
    this.name = 'StripeWebhookSignatureError';
  }
}

/** Whether trying the same call again could succeed. */
export type StripeFailureKind = 'permanent' | 'transient';

/**
 * Transient: the call may succeed if tried again with the same idempotency
 * key — no connection or no answer, Stripe's own 5xx, 429 (rate limited), 409
 * (a lock, or the same idempotency key still in flight). Permanent: Stripe
 * understood and refused — invalid request (400/404, including an
 * idempotency key reused with other parameters), authentication (401),
 * declined (402), permission (403) — or Stripe is not configured here.
 * Anything that is not a Stripe error (a bug, a timeout of ours) is
 * transient: retrying is the safe default for calls keyed for idempotency.
 */
export function classifyStripeError(error: unknown): StripeFailureKind {
  if (error instanceof StripeNotConfiguredError) return 'permanent';
  if (!(error instanceof Stripe.errors.StripeError)) return 'transient';
  if (error instanceof Stripe.errors.StripeConnectionError) return 'transient';
  if (error instanceof Stripe.errors.StripeRateLimitError) return 'transient';
  const status = error.statusCode;
  if (status === undefined || status >= 500 || status === 409 || status === 429) return 'transient';
  return status >= 400 ? 'permanent' : 'transient';
}

export function isPermanentStripeError(error: unknown): boolean {
  return classifyStripeError(error) === 'permanent';
}

/**
 * A payout refused for good, on which the withdrawal's money goes back to the
 * teacher: Stripe understood the transfer and said no (400 invalid request,
 * 402). Not our own credentials failing (401, 403, Stripe not configured
 * here: a rotated key, a worker without it), nor an idempotency key seen with
 * other parameters: those keep the payout retrying (and logged) until someone
 * looks, because returning the money on them could pay the teacher twice.
 */
export function isPermanentPayoutRefusal(error: unknown): boolean {
  if (error instanceof StripeNotConfiguredError) return false;
  if (error instanceof Stripe.errors.StripeIdempotencyError) return false;
  if (!(error instanceof Stripe.errors.StripeError)) return false;
  const status = error.statusCode;
  return status === 400 || status === 402 || status === 404;
}

/** Stripe refused an idempotency key it saw before with other parameters. */
export function isIdempotencyKeyConflict(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeIdempotencyError;
}

/** The SDK's host, port and protocol for a base URL such as `http://127.0.0.1:12111`. */
export function stripeEndpoint(apiUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    // The SDK takes a bare host: brackets of an IPv6 literal removed.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port),
    protocol,
  };
}

/** Stripe's idempotency keys are at most 255 characters; a client's own key may be that long alone. */
function boundedKey(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash('sha256').update(parts.join('\u0000')).digest('hex')}`;
}

export class StripeGateway {
  private readonly client: Stripe | undefined;

  constructor(private readonly config: StripeGatewayConfig) {
    this.client =
      config.secretKey === undefined
        ? undefined
        : new Stripe(config.secretKey, {
            maxNetworkRetries: config.maxNetworkRetries ?? 2,
            timeout: config.timeoutMs ?? 30_000,
            telemetry: false,
            appInfo: { name: 'class-marketplace' },
            ...(config.apiUrl === undefined ? {} : stripeEndpoint(config.apiUrl)),
          });
  }

  /** Whether calls can be made (STRIPE_SECRET_KEY is set). */
  get configured(): boolean {
    return this.client !== undefined;
  }

  private sdk(): Stripe {
    if (this.client === undefined) throw new StripeNotConfiguredError('STRIPE_SECRET_KEY');
    return this.client;
  }

  /**
   * A Checkout Session for `amount` of credit. The same `requestKey` (the
   * user's Idempotency-Key) gives the same session back from Stripe.
   */
  async createCheckoutSession(input: {
    userId: string;
    email?: string | undefined;
    amount: number;
    currency: string;
    /** What makes this request itself: the user id and their Idempotency-Key. */
    requestKey: string;
    successUrl: string;
    cancelUrl: string;
  }): Promise<CheckoutSessionView> {
    const session = await this.sdk().checkout.sessions.create(
      {
        mode: 'payment',
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: input.currency,
              unit_amount: input.amount,
              product_data: { name: 'Class credit' },
            },
          },
        ],
        client_reference_id: input.userId,
        ...(input.email === undefined ? {} : { customer_email: input.email }),
        metadata: { userId: input.userId, amount: String(input.amount) },
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
      },
      { idempotencyKey: boundedKey('topup', input.userId, input.requestKey) },
    );
    return viewOf(session);
  }

  async retrieveCheckoutSession(sessionId: string): Promise<CheckoutSessionView> {
    return viewOf(await this.sdk().checkout.sessions.retrieve(sessionId));
  }

  /** Sessions in a state (newest first), created at or after `createdSince` when given; one page of at most `limit` (1..100). */
  async listCheckoutSessions(input: {
    status: 'open' | 'complete' | 'expired';
    createdSince?: Date;
    limit: number;
  }): Promise<CheckoutSessionView[]> {
    const page = await this.sdk().checkout.sessions.list({
      status: input.status,
      limit: input.limit,
      ...(input.createdSince === undefined
        ? {}
        : { created: { gte: Math.floor(input.createdSince.getTime() / 1000) } }),
    });
    return page.data.map(viewOf);
  }

  /**
   * Pays a withdrawal out to a teacher's connected account (`acct_...`). The
   * idempotency key is derived from the withdrawal: however often this runs
   * (activity retries, a worker crash after the call), Stripe makes one
   * transfer and answers the same one each time; the transfer group
   * (`withdrawal-<id>`) finds it after the key has expired. Classify a failure
   * with isPermanentPayoutRefusal.
   */
  async createConnectTransfer(input: {
    withdrawalId: string;
    amount: number;
    currency: string;
    destination: string;
  }): Promise<{ transferId: string }> {
    const sdk = this.sdk();
    // The transfer group names the withdrawal at Stripe for good; the idempotency key only for 24 hours.
    const group = `withdrawal-${input.withdrawalId}`;
    const made = async () => (await sdk.transfers.list({ transfer_group: group, limit: 1 })).data[0];
    // Paid by an earlier attempt whose answer was lost (however long ago): that transfer, not another.
    const earlier = await made();
    if (earlier !== undefined) return { transferId: earlier.id };
    try {
      const transfer = await sdk.transfers.create(
        {
          amount: input.amount,
          currency: input.currency,
          destination: input.destination,
          transfer_group: group,
          metadata: { withdrawalId: input.withdrawalId },
        },
        { idempotencyKey: `withdrawal-${input.withdrawalId}-payout` },
      );
      return { transferId: transfer.id };
    } catch (error) {
      // Before a refusal returns the money: make sure no attempt paid.
      if (isPermanentPayoutRefusal(error)) {
        const paid = await made();
        if (paid !== undefined) return { transferId: paid.id };
      }
      throw error;
    }
  }

  /**
   * The payout side as the withdrawal workflow's activities take it
   * (structurally `ConnectPayouts` of withdrawals/payouts.ts): transfers
   * through createConnectTransfer, failures classified by
   * isPermanentPayoutRefusal. Unconfigured, every transfer fails and is
   * retried (and logged) until Stripe is configured: the money stays held.
   */
  connectPayouts(): {
    transfer(input: {
      withdrawalId: string;
      amount: number;
      currency: string;
      destination: string;
    }): Promise<{
      transferId: string;
    }>;
    isPermanentFailure(error: unknown): boolean;
  } {
    return {
      transfer: (input) => this.createConnectTransfer(input),
      isPermanentFailure: isPermanentPayoutRefusal,
    };
  }

  /**
   * The event a webhook carries, once its `Stripe-Signature` matches the raw
   * body under STRIPE_WEBHOOK_SECRET (and is recent: the SDK's tolerance).
   */
  verifyWebhook(rawBody: Buffer, signature: string | undefined): Stripe.Event {
    const sdk = this.sdk();
    if (this.config.webhookSecret === undefined) throw new StripeNotConfiguredError('STRIPE_WEBHOOK_SECRET');
    if (signature === undefined || signature === '') {
      throw new StripeWebhookSignatureError('no Stripe-Signature header');
    }
    try {
      return sdk.webhooks.constructEvent(rawBody, signature, this.config.webhookSecret);
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        throw new StripeWebhookSignatureError(error.message);
      }
      // A signature that matches a body that is not JSON.
      throw new StripeWebhookSignatureError(error instanceof Error ? error.message : String(error));
    }
  }
}

export function viewOf(session: Stripe.Checkout.Session): CheckoutSessionView {
  return {
    id: session.id,
    status: session.status,
    paymentStatus: session.payment_status,
    amountTotal: session.amount_total,
    currency: session.currency,
    metadata: { ...(session.metadata ?? {}) },
    url: session.url,
    created: session.created,
  };
}

export type StripeEvent = Stripe.Event;
