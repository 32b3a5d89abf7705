import type { Settings } from '../../config/settings';
import { findUserById } from '../../users/repository';
import {
  csvHeader,
  csvRow,
  LINE_STATUSES,
  LINE_TYPES,
  MAX_PAGE_SIZE,
  statementPage,
  type StatementFilters,
} from '../../wallet/statement';
import { deposit, walletOf, type WalletDeps } from '../../wallet/service';
import { walletAccountId } from '../../wallet/wallet-account';
import { NotFoundError, ValidationError } from '../errors';
import { idempotencyKeyOf } from '../idempotency';
import { assertMayDepositTo } from '../policy';
import type { ApiRoutes } from '../route';
import { amountSchema, Cursor, IsoTimestamp, pageLimit, periodOf, preciseTimeOf, Uuid } from '../schemas';
import { decodeStatementCursor, encodeStatementCursor } from '../cursors';
import { z } from '../zod';

const ALL_ROLES = ['student', 'teacher', 'admin'] as const;
/**
 * Bound of one CSV download: beyond it the request is refused (never cut
 * short), and the answer says to narrow the period with from/to.
 */
export const MAX_CSV_LINES = 50_000;
const CSV_PAGE = 1_000;

const Wallet = z
  .object({
    currency: z.string().openapi({ example: 'usd' }),
    available: z.number().int().openapi({ description: 'Spendable (or withdrawable) now' }),
    held: z.number().int().openapi({ description: 'Reserved by bookings or withdrawals not yet settled' }),
    total: z.number().int(),
  })
  .openapi('Wallet');

const StatementLineSchema = z
  .object({
    id: Uuid,
    type: z.enum(LINE_TYPES),
    amount: z.number().int().openapi({ description: 'Signed: negative leaves the wallet' }),
    balanceBefore: z.number().int(),
    balanceAfter: z.number().int(),
    status: z.enum(LINE_STATUSES),
    reference: z.object({ type: z.string(), id: Uuid }).nullable(),
    description: z.string().nullable(),
    createdAt: IsoTimestamp,
  })
  .openapi('StatementLine');

const StatementQuery = z
  .object({
    type: z.enum(LINE_TYPES).optional(),
    status: z.enum(LINE_STATUSES).optional(),
    from: IsoTimestamp.optional().openapi({
      description: 'Lines created at or after (before to, when both are given)',
    }),
    to: IsoTimestamp.optional().openapi({ description: 'Lines created before' }),
    limit: pageLimit(MAX_PAGE_SIZE, 20),
    cursor: Cursor.optional(),
    format: z.enum(['json', 'csv']).optional(),
  })
  .strict();

const StatementPage = z
  .object({ data: z.array(StatementLineSchema), nextCursor: z.string().nullable() })
  .openapi('StatementPage');

export function walletRoutes(routes: ApiRoutes, deps: WalletDeps, settings: Settings): void {
  routes.add({
    method: 'get',
    path: '/wallet',
    summary: "The caller's wallet (a teacher's: their earnings)",
    tags: ['wallet'],
    access: ALL_ROLES,
    success: { status: 200, description: 'Balances in minor units', schema: Wallet },
    handler: async ({ user }) => ({ status: 200, body: await walletOf(deps, user) }),
  });

  routes.add({
    method: 'get',
    path: '/wallet/transactions',
    summary: 'Statement lines, newest first',
    tags: ['wallet'],
    access: ALL_ROLES,
    query: StatementQuery,
    success: {
      status: 200,
      description: `A page of lines; \`format=csv\` (or Accept: text/csv) downloads every matching line as CSV, up to ${MAX_CSV_LINES} lines (more: 400, narrow the period with from/to)`,
      schema: StatementPage,
      contentTypes: ['application/json', 'text/csv'],
    },
    handler: async ({ user, query, req }) => {
      periodOf(query); // from before to, to the microsecond
      const filters: StatementFilters = {
        type: query.type,
        status: query.status,
        from: query.from === undefined ? undefined : preciseTimeOf(query.from),
        to: query.to === undefined ? undefined : preciseTimeOf(query.to),
      };
      const accountId = walletAccountId(user);
      const wantsCsv =
        query.format === 'csv' || (query.format === undefined && req.accepts(['json', 'csv']) === 'csv');
      if (wantsCsv) {
        let csv = csvHeader();
        let beforeSeq: number | undefined;
        let lines = 0;
        do {
          const page = await statementPage(deps.db, accountId, filters, { limit: CSV_PAGE, beforeSeq });
          for (const line of page.lines) csv += csvRow(line);
          lines += page.lines.length;
          beforeSeq = page.nextSeq;
          if (beforeSeq !== undefined && lines >= MAX_CSV_LINES) throw tooManyCsvLines();
        } while (beforeSeq !== undefined);
        return {
          status: 200,
          contentType: 'text/csv; charset=utf-8',
          headers: { 'Content-Disposition': 'attachment; filename="transactions.csv"' },
          body: csv,
        };
      }
      const page = await statementPage(deps.db, accountId, filters, {
        limit: query.limit,
        beforeSeq: query.cursor === undefined ? undefined : decodeStatementCursor(query.cursor),
      });
      return {
        status: 200,
        body: {
          data: page.lines,
          nextCursor: page.nextSeq === undefined ? null : encodeStatementCursor(page.nextSeq),
        },
      };
    },
  });

  if (!settings.ENABLE_TEST_DEPOSITS) return; // the route does not exist: 404

  routes.add({
    method: 'post',
    path: '/wallet/deposit',
    summary: 'Test-support credit (only when ENABLE_TEST_DEPOSITS=true)',
    tags: ['wallet'],
    access: ALL_ROLES,
    idempotent: true,
    body: z
      .object({
        amount: amountSchema(settings.MAX_AMOUNT_MINOR),
        userId: Uuid.optional().openapi({
          description: 'Whose wallet (administrators only); default: the caller',
        }),
      })
      .strict()
      // The example a student can send as is: `userId` is for administrators only.
      .openapi('DepositRequest', { example: { amount: 2500 } }),
    success: {
      status: 201,
      description: 'The statement line of the deposit and the wallet after it',
      schema: z.object({ transaction: StatementLineSchema, wallet: Wallet }).openapi('DepositResult'),
    },
    errors: [404, 409, 413],
    handler: async ({ user, body, req }) => {
      const targetId = body.userId ?? user.id;
      assertMayDepositTo(user, targetId);
      const target = targetId === user.id ? user : await findUserById(deps.db, targetId);
      if (target === undefined) throw new NotFoundError('user');
      const result = await deposit(deps, {
        actor: user,
        target,
        amount: body.amount,
        idempotencyKey: idempotencyKeyOf(req),
      });
      return { status: 201, body: result };
    },
  });
}

function tooManyCsvLines(): ValidationError {
  const message = `more than ${MAX_CSV_LINES} lines match, more than one CSV download holds: narrow the period with from and to`;
  return new ValidationError(message, [{ path: 'query', message }]);
}
