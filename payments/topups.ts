// Credit top-ups through Stripe Checkout. A student asks for an amount; a
// Checkout Session is created at Stripe and recorded here (the `topups` row:
// who, how much, which currency); the student pays on Stripe's page; Stripe's
// webhook (or, when it never comes, the reconciler's look at the session)
// says the session is paid, and the wallet is credited.
//
// Exactly once: the credit's transfer id is derived from the session id, and
// the row is locked and marked paid in the transaction that writes it, so two
// webhooks for one session (a redelivery, `completed` then
// `async_payment_succeeded`), a webhook racing the reconciler, or a retried
// activity all end in one credit. What Stripe reports is checked against the
// row first: another amount, currency or user is not credited, but recorded
// as `mismatched` and logged as an error for a person to look at.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { DependencyUnavailableError, IdempotencyKeyReusedError } from '../domain/errors';
import { systemAccountId, userAccountId } from '../ledger/accounts';
import { nameUuid } from '../ledger/ids';
import { createTransfers } from '../ledger/transfers';
import type { TransferSpec } from '../ledger/types';
import {
  classifyStripeError,
  isIdempotencyKeyConflict,
  viewOf,
  type CheckoutSessionView,
  type StripeEvent,
  type StripeGateway,
} from './stripe';

export interface TopupDeps {
  db: Db;
  stripe: StripeGateway;
  logger: Logger;
  /** The ledger's one currency: what top-ups are asked in. */
  currency: string;
}

export const TOPUP_STATUSES = ['open', 'paid', 'expired', 'failed', 'mismatched'] as const;
export type TopupStatus = (typeof TOPUP_STATUSES)[number];

export interface TopupView {
  id: string;
  sessionId: string;
  /** Stripe's payment page; null once the session is no longer open. */
  url: string | null;
  amount: number;
  currency: string;
  status: TopupStatus;
  createdAt: string;
  paidAt: string | null;
}

interface TopupRow {
  id: string;
  session_id: string;
  user_id: string;
  amount: number;
  currency: string;
  status: TopupStatus;
  created_at: Date;
  paid_at: Date | null;
}

/** The top-up row of a Checkout Session (a replayed creation finds the same row). */
export const topupIdOf = (sessionId: string) => nameUuid('topup', sessionId);
/** The credit of a paid session: its id is the session's, so it can be written only once. */
export const topupTransferIdOf = (sessionId: string) => nameUuid('stripe-checkout', sessionId);

export const TOPUPS_UNAVAILABLE = 'topups_unavailable';
export const PAYMENT_PROVIDER_UNAVAILABLE = 'payment_provider_unavailable';

/**
 * Creates a Checkout Session for `amount` and records it. The same user and
 * Idempotency-Key name the same session at Stripe, so a retried request (even
 * one whose first attempt died after Stripe answered) gets the same session.
 */
export async function createTopup(
  deps: TopupDeps & { publicUrl: string },
  input: {
    user: { id: string; email?: string | undefined };
    amount: number;
    idempotencyKey?: string | undefined;
  },
): Promise<TopupView> {
  if (!deps.stripe.configured) {
    throw new DependencyUnavailableError(
      TOPUPS_UNAVAILABLE,
      'top-ups are not available: Stripe is not configured on this server',
    );
  }
  let session: CheckoutSessionView;
  try {
    session = await deps.stripe.createCheckoutSession({
      userId: input.user.id,
      email: input.user.email,
      amount: input.amount,
      currency: deps.currency,
      requestKey: input.idempotencyKey ?? randomUUID(),
      successUrl: `${deps.publicUrl}/console/wallet/topups/success?session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${deps.publicUrl}/console/wallet/topups/cancelled`,
    });
  } catch (error) {
    // The key was used at Stripe for another amount (its first request was refused here after Stripe answered).
    if (isIdempotencyKeyConflict(error)) throw new IdempotencyKeyReusedError();
    deps.logger.error(
      { err: error, userId: input.user.id, failure: classifyStripeError(error) },
      'Stripe did not create a Checkout Session',
    );
    throw new DependencyUnavailableError(
      PAYMENT_PROVIDER_UNAVAILABLE,
      'the payment provider did not answer as expected; nothing was charged, try again later',
    );
  }
  const id = topupIdOf(session.id);
  await deps
    .db('topups')
    .insert({
      id,
      session_id: session.id,
      user_id: input.user.id,
      amount: input.amount,
      currency: deps.currency,
    })
    .onConflict('session_id')
    .ignore();
  const row = (await deps.db('topups').where({ id }).first()) as TopupRow;
  return { ...viewOfRow(row), url: session.url };
}

/** A user's top-up, as the API shows it (undefined: none of theirs by that id). */
export async function topupOf(db: Db, userId: string, id: string): Promise<TopupView | undefined> {
  const row = (await db('topups').where({ id, user_id: userId }).first()) as TopupRow | undefined;
  return row === undefined ? undefined : { ...viewOfRow(row), url: null };
}

function viewOfRow(row: TopupRow): Omit<TopupView, 'url'> {
  return {
    id: row.id,
    sessionId: row.session_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    paidAt: row.paid_at === null ? null : row.paid_at.toISOString(),
  };
}

export type FulfilmentResult =
  /** The wallet was credited now. */
  | 'credited'
  /** Credited before (a redelivery, the other event of the pair, the reconciler first). */
  | 'already_credited'
  /** Not paid yet (an asynchronous payment method still settling): nothing to do. */
  | 'awaiting_payment'
  /** What Stripe reports differs from what was asked: not credited, logged as an error. */
  | 'mismatched'
  /** A session this service did not create (another integration on the account): ignored. */
  | 'unknown_session';

/**
 * Credits the wallet for a paid session, once. Safe to call any number of
 * times, concurrently, from the webhook and the reconciler.
 */
export async function fulfilCheckoutSession(
  deps: TopupDeps,
  session: CheckoutSessionView,
  source: 'webhook' | 'reconciliation',
): Promise<FulfilmentResult> {
  if (session.paymentStatus !== 'paid') return 'awaiting_payment';
  const log = deps.logger.child({ sessionId: session.id, source });
  return deps.db.transaction(async (trx) => {
    const row = (await trx('topups').where({ session_id: session.id }).forUpdate().first()) as
      TopupRow | undefined;
    if (row === undefined) {
      log.warn('paid Checkout Session unknown here (not created by this service): ignored');
      return 'unknown_session';
    }
    if (row.status === 'paid') return 'already_credited';
    if (row.status === 'mismatched') return 'mismatched';

    const problems = mismatches(row, session);
    if (problems.length > 0) {
      const problem = problems.join('; ');
      await trx('topups')
        .where({ id: row.id })
        .update({ status: 'mismatched', problem: problem.slice(0, 1000) });
      log.error(
        {
          topupId: row.id,
          userId: row.user_id,
          expected: { amount: row.amount, currency: row.currency, userId: row.user_id },
          reported: {
            amountTotal: session.amountTotal,
            currency: session.currency,
            metadata: session.metadata,
          },
          problems,
        },
        'Stripe top-up NOT credited: the paid session does not match the top-up that was asked for',
      );
      return 'mismatched';
    }

    const result = await createTransfers(trx, [topupCredit(row, session.id)]);
    if (result.status === 'refused') {
      // From the unlimited outside-world account to a student's wallet, with an id only this row names.
      throw new Error(`top-up credit refused: ${result.reason} (session ${session.id})`);
    }
    await trx('topups').where({ id: row.id }).update({ status: 'paid', paid_at: trx.fn.now() });
    log.info({ topupId: row.id, userId: row.user_id, amount: row.amount }, 'Stripe top-up credited');
    return result.status === 'created' ? 'credited' : 'already_credited';
  });
}

function mismatches(row: TopupRow, session: CheckoutSessionView): string[] {
  const problems: string[] = [];
  if (session.amountTotal !== row.amount)
    problems.push(`amount_total ${String(session.amountTotal)}, asked ${row.amount}`);
  if (session.currency?.toLowerCase() !== row.currency)
    problems.push(`currency ${String(session.currency)}, asked ${row.currency}`);
  if (session.metadata.userId !== row.user_id)
    problems.push(`metadata.userId ${String(session.metadata.userId)}, asked by ${row.user_id}`);
  if (session.metadata.amount !== String(row.amount))
    problems.push(`metadata.amount ${String(session.metadata.amount)}, asked ${row.amount}`);
  return problems;
}

function topupCredit(row: TopupRow, sessionId: string): TransferSpec {
  return {
    id: topupTransferIdOf(sessionId),
    kind: 'posted',
    debitAccountId: systemAccountId('external', row.currency),
    creditAccountId: userAccountId(row.user_id, 'wallet'),
    amount: row.amount,
    code: 'topup',
    reference: { type: 'payment', id: row.id },
    description: 'Top-up (Stripe Checkout)',
  };
}

/** An open top-up whose session ended unpaid (expired, or its asynchronous payment failed). */
async function markEnded(db: Db, sessionId: string, status: 'expired' | 'failed'): Promise<boolean> {
  const updated = await db('topups').where({ session_id: sessionId, status: 'open' }).update({ status });
  return updated > 0;
}

export type StripeEventResult = FulfilmentResult | 'expired' | 'failed' | 'ignored';

/** Checkout events that say a session is paid (when its payment_status is `paid`). */
const PAYING_EVENTS = new Set(['checkout.session.completed', 'checkout.session.async_payment_succeeded']);

/** What a verified webhook event does; events other than Checkout's are acknowledged and ignored. */
export async function receiveStripeEvent(deps: TopupDeps, event: StripeEvent): Promise<StripeEventResult> {
  if (!event.type.startsWith('checkout.session.')) return 'ignored';
  const object = event.data?.object as { id?: unknown; object?: unknown } | undefined;
  if (typeof object?.id !== 'string' || object.object !== 'checkout.session') {
    deps.logger.warn(
      { eventId: event.id, type: event.type },
      'Stripe Checkout event without a session: ignored',
    );
    return 'ignored';
  }
  const session = viewOf(event.data.object as Parameters<typeof viewOf>[0]);
  if (PAYING_EVENTS.has(event.type)) return fulfilCheckoutSession(deps, session, 'webhook');
  if (event.type === 'checkout.session.expired') {
    await markEnded(deps.db, session.id, 'expired');
    return 'expired';
  }
  if (event.type === 'checkout.session.async_payment_failed') {
    await markEnded(deps.db, session.id, 'failed');
    return 'failed';
  }
  return 'ignored';
}

export interface TopupReconciliation {
  /** Open top-ups whose session was looked up at Stripe. */
  checked: number;
  credited: number;
  expired: number;
  mismatched: number;
  /** Sessions Stripe could not be asked about this round (tried again next round). */
  errors: number;
}

/**
 * Catches webhooks that never came: asks Stripe about up to `limit` top-ups
 * still open after `olderThanMinutes` (the least recently checked first) and
 * fulfils the paid ones as the webhook would. A session Stripe cannot be
 * asked about is counted and left for the next round; only when every lookup
 * failed does this throw (Stripe unreachable: the caller's retry policy decides).
 */
export async function reconcileOpenTopups(
  deps: TopupDeps,
  input: { olderThanMinutes: number; limit: number },
): Promise<TopupReconciliation> {
  const summary: TopupReconciliation = { checked: 0, credited: 0, expired: 0, mismatched: 0, errors: 0 };
  if (!deps.stripe.configured) return summary;
  const rows = await deps
    .db<TopupRow>('topups')
    .where({ status: 'open' })
    .andWhere('created_at', '<', deps.db.raw('now() - make_interval(mins => ?)', [input.olderThanMinutes]))
    .orderByRaw('checked_at nulls first, created_at')
    .limit(input.limit)
    .select('id', 'session_id');
  let lastError: unknown;
  for (const row of rows) {
    await deps.db('topups').where({ id: row.id }).update({ checked_at: deps.db.fn.now() });
    let session: CheckoutSessionView;
    try {
      session = await deps.stripe.retrieveCheckoutSession(row.session_id);
    } catch (error) {
      summary.errors++;
      lastError = error;
      deps.logger.warn(
        { err: error, sessionId: row.session_id, failure: classifyStripeError(error) },
        'could not look up a Checkout Session; the next round tries again',
      );
      continue;
    }
    summary.checked++;
    if (session.paymentStatus === 'paid') {
      const result = await fulfilCheckoutSession(deps, session, 'reconciliation');
      if (result === 'credited') summary.credited++;
      if (result === 'mismatched') summary.mismatched++;
    } else if (session.status === 'expired' && (await markEnded(deps.db, session.id, 'expired'))) {
      summary.expired++;
    }
  }
  if (rows.length > 0 && summary.errors === rows.length) throw lastError;
  return summary;
}
