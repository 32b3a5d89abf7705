// Credit top-ups through Stripe Checkout (payments/topups.ts); Stripe's
// webhook that credits them is in webhooks.ts.
import type { Settings } from '../../config/settings';
import { createTopup, topupOf, TOPUP_STATUSES, type TopupDeps } from '../../payments/topups';
import { NotFoundError } from '../errors';
import { idempotencyKeyOf } from '../idempotency';
import type { ApiRoutes } from '../route';
import { IdParams, IsoTimestamp, Uuid } from '../schemas';
import { z } from '../zod';

const Topup = z
  .object({
    id: Uuid.openapi({ description: 'The top-up (the reference id of its statement line once credited)' }),
    sessionId: z.string().openapi({ description: 'The Stripe Checkout Session', example: 'cs_test_a1b2c3' }),
    url: z
      .string()
      .nullable()
      .openapi({ description: "Stripe's payment page: send the student there (null once no longer open)" }),
    amount: z.number().int(),
    currency: z.string().openapi({ example: 'usd' }),
    status: z.enum(TOPUP_STATUSES).openapi({
      description:
        '`open` until Stripe says it is paid (`paid`: credited), `expired` or `failed` unpaid, `mismatched`: Stripe reported another amount or currency, not credited (support looks at it)',
    }),
    createdAt: IsoTimestamp,
    paidAt: IsoTimestamp.nullable(),
  })
  .openapi('Topup');

/** The most one Stripe Checkout Session may charge (999,999.99 in a two-decimal currency). */
export const STRIPE_CHECKOUT_MAX_MINOR = 99_999_999;

const UNAVAILABLE =
  'Top-ups are not configured on this server (`topups_unavailable`), or Stripe did not answer (`payment_provider_unavailable`): nothing was charged, try later';

export function topupRoutes(
  routes: ApiRoutes,
  deps: TopupDeps & { publicUrl: string },
  settings: Settings,
): void {
  // Above Stripe's own limit a session would be refused, and retrying could never work.
  const maxTopup = Math.min(settings.MAX_AMOUNT_MINOR, STRIPE_CHECKOUT_MAX_MINOR);
  routes.add({
    method: 'post',
    path: '/wallet/topups',
    summary: 'Top up the wallet through Stripe Checkout',
    tags: ['wallet'],
    access: ['student'],
    idempotent: true,
    body: z
      .object({
        amount: z
          .number()
          .int('must be a whole number of minor units')
          .min(settings.TOPUP_MIN_AMOUNT, `must be at least ${settings.TOPUP_MIN_AMOUNT}`)
          .max(maxTopup, `must not exceed ${maxTopup}`)
          .openapi({
            description: `Integer amount in minor units (cents), ${settings.TOPUP_MIN_AMOUNT} to ${maxTopup} (at most what one Stripe Checkout Session charges)`,
            example: 2500,
          }),
      })
      .strict()
      .openapi('TopupRequest'),
    success: {
      status: 201,
      description:
        "A Checkout Session: send the student to `url`. The wallet is credited when Stripe's webhook says the session is paid (the statement line: type `deposit`, reference `{type: payment, id}`). With the same Idempotency-Key, the same session again.",
      schema: Topup,
    },
    errors: [413, 503],
    errorText: { 503: UNAVAILABLE },
    handler: async ({ user, body, req }) => ({
      status: 201,
      body: await createTopup(deps, {
        user: { id: user.id, email: user.email },
        amount: body.amount,
        idempotencyKey: idempotencyKeyOf(req),
      }),
    }),
  });

  routes.add({
    method: 'get',
    path: '/wallet/topups/:id',
    summary: "One of the caller's top-ups: whether it is paid and credited yet",
    tags: ['wallet'],
    access: ['student'],
    params: IdParams,
    success: { status: 200, description: 'The top-up (`url` is null here)', schema: Topup },
    errors: [404],
    handler: async ({ user, params }) => {
      const topup = await topupOf(deps.db, user.id, params.id);
      if (topup === undefined) throw new NotFoundError('top-up');
      return { status: 200, body: topup };
    },
  });
}
