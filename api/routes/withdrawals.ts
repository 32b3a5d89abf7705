// Withdrawals: teachers ask, admins decide and confirm manual payouts; the
// withdrawal's workflow answers every decision. Bank details come in whole and
// go out masked (holder, bank, last 4), in every response.
import { ibanIsValid, normalizeIban } from '../../withdrawals/bank-details';
import { WITHDRAWAL_STATUSES } from '../../withdrawals/repository';
import {
  actOnWithdrawal,
  getWithdrawal,
  nameStripeAccount,
  requestWithdrawal,
  withdrawalsOf,
  type AdminAction,
  type WithdrawalDeps,
} from '../../withdrawals/service';
import { decodeKeyset, encodeKeyset } from '../cursors';
import { idempotencyKeyOf } from '../idempotency';
import type { ApiRoutes } from '../route';
import { amountSchema, Cursor, IdParams, IsoTimestamp, pageLimit, text, Uuid } from '../schemas';
import { z } from '../zod';

const BankAccountInput = z
  .object({
    holderName: text({ min: 1, max: 200, trim: true }),
    iban: z
      .string()
      .max(64)
      .transform(normalizeIban)
      .refine(ibanIsValid, 'not a valid IBAN (country, check digits, account)')
      .optional()
      .openapi({ example: 'DE89 3704 0044 0532 0130 00' }),
    accountNumber: z
      .string()
      .regex(/^\d{4,34}$/, '4 to 34 digits')
      .optional(),
    routingNumber: z
      .string()
      .regex(/^\d{9}$/, '9 digits')
      .optional(),
    bankName: text({ min: 1, max: 200, trim: true }).optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.iban === undefined) === (value.accountNumber === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['iban'],
        message: 'give an IBAN or an account number (one of them)',
      });
    }
  })
  .openapi('BankAccountInput', { description: 'Stored encrypted; shown masked (last 4) from then on' });

const MaskedBankAccount = z
  .object({
    holderName: z.string(),
    bankName: z.string().nullable(),
    last4: z.string().openapi({ example: '3000' }),
  })
  .openapi('MaskedBankAccount');

const Withdrawal = z
  .object({
    id: Uuid,
    teacherId: Uuid,
    amount: z.number().int(),
    currency: z.string(),
    status: z.enum(WITHDRAWAL_STATUSES),
    provider: z.enum(['manual', 'stripe']),
    bankAccount: MaskedBankAccount,
    reason: z.string().nullable().openapi({ description: 'Why it was rejected, or why its payout failed' }),
    reference: z
      .string()
      .nullable()
      .openapi({ description: 'The bank transfer reference (manual) or the Stripe transfer id, once paid' }),
    decidedAt: IsoTimestamp.nullable(),
    completedAt: IsoTimestamp.nullable(),
    workflowId: z.string().openapi({ example: 'withdrawal-3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10' }),
    workflowUrl: z.string().nullable().openapi({
      description:
        'Admins only: the workflow in the Temporal UI (`TEMPORAL_UI_URL`) or the dev server’s inspector; null for everyone else, and when neither is known',
      example:
        'https://temporal.example.com/namespaces/default/workflows/withdrawal-3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10',
    }),
    createdAt: IsoTimestamp,
  })
  .openapi('Withdrawal');

const WithdrawalPage = z
  .object({ data: z.array(Withdrawal), nextCursor: z.string().nullable() })
  .openapi('WithdrawalPage');

export function withdrawalRoutes(
  routes: ApiRoutes,
  deps: WithdrawalDeps,
  options: { maxAmountMinor: number },
): void {
  routes.add({
    method: 'post',
    path: '/withdrawals',
    summary: 'Withdraw earnings: the amount is held and an admin approves or rejects it',
    tags: ['withdrawals'],
    access: ['teacher'],
    idempotent: true,
    body: z
      .object({ amount: amountSchema(options.maxAmountMinor), bankAccount: BankAccountInput })
      .strict()
      .openapi('NewWithdrawal'),
    success: { status: 201, description: 'The withdrawal, pending', schema: Withdrawal },
    errors: [402, 409],
    handler: async ({ user, body, req }) => ({
      status: 201,
      body: await requestWithdrawal(deps, user, {
        amount: body.amount,
        bankAccount: body.bankAccount,
        idempotencyKey: idempotencyKeyOf(req),
      }),
    }),
  });

  routes.add({
    method: 'get',
    path: '/withdrawals',
    summary: 'Withdrawals, newest first (teachers: their own; admins: all)',
    tags: ['withdrawals'],
    access: ['teacher', 'admin'],
    query: z
      .object({
        status: z.enum(WITHDRAWAL_STATUSES).optional(),
        limit: pageLimit(100, 20),
        cursor: Cursor.optional(),
      })
      .strict(),
    success: { status: 200, description: 'A page of withdrawals', schema: WithdrawalPage },
    handler: async ({ user, query }) => {
      const page = await withdrawalsOf(deps, user, {
        limit: query.limit,
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.cursor === undefined ? {} : { before: decodeKeyset(query.cursor, 'withdrawals') }),
      });
      return {
        status: 200,
        body: {
          data: page.data,
          nextCursor: page.next === null ? null : encodeKeyset(page.next, 'withdrawals'),
        },
      };
    },
  });

  routes.add({
    method: 'get',
    path: '/withdrawals/:id',
    summary: 'A withdrawal (its teacher, admins)',
    tags: ['withdrawals'],
    access: ['teacher', 'admin'],
    params: IdParams,
    success: { status: 200, description: 'The withdrawal', schema: Withdrawal },
    errors: [404],
    handler: async ({ user, params }) => ({ status: 200, body: await getWithdrawal(deps, user, params.id) }),
  });

  const adminAction = (
    path: string,
    summary: string,
    body: z.ZodType<object>,
    action: (body: Record<string, string>) => AdminAction,
  ) =>
    routes.add({
      method: 'post',
      path: `/admin/withdrawals/:id/${path}`,
      summary,
      tags: ['admin'],
      access: ['admin'],
      params: IdParams,
      body,
      success: { status: 200, description: 'The withdrawal, as its workflow left it', schema: Withdrawal },
      errors: [404, 409, 503],
      handler: async ({ user, params, body: given }) => ({
        status: 200,
        body: await actOnWithdrawal(deps, user, params.id, action(given as Record<string, string>)),
      }),
    });

  adminAction(
    'approve',
    'Approve: processing, then paid out (Stripe), or waiting for /complete (manual)',
    z.object({}).strict().openapi('ApproveWithdrawal'),
    () => ({ kind: 'approve' }),
  );
  adminAction(
    'reject',
    'Reject: the held amount returns to the teacher, who is told why',
    z
      .object({ reason: text({ min: 1, max: 1000, trim: true }) })
      .strict()
      .openapi('RejectWithdrawal'),
    (body) => ({ kind: 'reject', reason: body['reason']! }),
  );
  adminAction(
    'complete',
    'Confirm a manual payout: the bank transfer was made (its reference)',
    z
      .object({ reference: text({ min: 1, max: 200, trim: true }) })
      .strict()
      .openapi('CompleteWithdrawal'),
    (body) => ({ kind: 'complete', reference: body['reference']! }),
  );
  adminAction(
    'fail',
    'Report a manual payout that failed (the bank returned it): the amount returns to the teacher',
    z
      .object({ reason: text({ min: 1, max: 1000, trim: true }) })
      .strict()
      .openapi('FailWithdrawal'),
    (body) => ({ kind: 'fail', reason: body['reason']! }),
  );

  routes.add({
    method: 'put',
    path: '/teachers/me/stripe-account',
    summary: 'Name the Stripe connected account that Stripe payouts go to',
    tags: ['withdrawals'],
    access: ['teacher'],
    body: z
      .object({
        stripeAccountId: z
          .string()
          .regex(/^acct_[A-Za-z0-9]{1,64}$/, 'a Stripe account id, acct_...')
          .openapi({ example: 'acct_1Nv0FGQ9RKHgCVdK' }),
      })
      .strict()
      .openapi('StripeAccount'),
    success: {
      status: 200,
      description: 'The account named',
      schema: z.object({ stripeAccountId: z.string() }),
    },
    handler: async ({ user, body }) => ({
      status: 200,
      body: await nameStripeAccount(deps, user, body.stripeAccountId),
    }),
  });
}
