// The wallet: balances, statement, and test-support deposits.
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import type { Db } from '../db/knex';
import { getBalance, ownerView, systemAccountId } from '../ledger/accounts';
import type { LedgerBatcher } from '../ledger/batcher';
import { nameUuid } from '../ledger/ids';
import { IdempotencyKeyReusedError } from '../domain/errors';
import type { UserModel } from '../users/user-model';
import { statementLine, type StatementLine } from './statement';
import { walletAccountId } from './wallet-account';

export interface WalletView {
  currency: string;
  available: number;
  held: number;
  total: number;
}

export interface WalletDeps {
  db: Db;
  ledger: LedgerBatcher;
  currency: string;
}

export async function walletOf(deps: WalletDeps, user: Pick<UserModel, 'id' | 'role'>): Promise<WalletView> {
  return { currency: deps.currency, ...ownerView(await getBalance(deps.db, walletAccountId(user))) };
}

/**
 * Credits `amount` from the outside world. With an idempotency key the
 * transfer id is derived from it, so a retried request cannot credit twice.
 */
export async function deposit(
  deps: WalletDeps,
  input: {
    actor: Pick<UserModel, 'id'>;
    target: Pick<UserModel, 'id' | 'role'>;
    amount: number;
    idempotencyKey?: string | undefined;
  },
): Promise<{ transaction: StatementLine; wallet: WalletView }> {
  const transferId =
    input.idempotencyKey === undefined
      ? randomUUID()
      : nameUuid('deposit', input.actor.id, input.idempotencyKey);
  const accountId = walletAccountId(input.target);
  const result = await deps.ledger.submit([
    {
      id: transferId,
      kind: 'posted',
      debitAccountId: systemAccountId('external', deps.currency),
      creditAccountId: accountId,
      amount: input.amount,
      code: 'deposit',
      description: input.actor.id === input.target.id ? 'Test deposit' : 'Test deposit by an administrator',
    },
  ]);
  if (result.status === 'refused' && result.reason === 'exists_with_different_fields') {
    // This key already moved money with another amount or wallet (its first
    // request died after the transfer and before its answer was kept).
    throw new IdempotencyKeyReusedError();
  }
  // Crediting from the unlimited external account can fail in no other way but a bug.
  assert(result.status !== 'refused', `deposit refused: ${JSON.stringify(result)}`);
  const transaction = await statementLine(deps.db, accountId, transferId);
  assert(transaction !== undefined, 'a deposit has a statement line');
  return { transaction, wallet: await walletOf(deps, input.target) };
}
