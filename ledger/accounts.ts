// Accounts and balances. Account ids are derived from what the account is
// (a user's wallet, the platform's escrow), so no lookup is needed to name one.
import assert from 'node:assert/strict';
import type { Conn, Trx } from '../db/knex';
import { nameUuid } from './ids';
import type { AccountBalance, AccountCode } from './types';

/** Shards of each hot system account; see the ledger migration for why. */
const SYSTEM_ACCOUNT_SHARDS = 32;

export type BalanceLimit = 'debits_must_not_exceed_credits' | 'credits_must_not_exceed_debits' | 'none';

export interface NewAccount {
  id: string;
  code: AccountCode;
  userId: string | null;
  currency: string;
  limit: BalanceLimit;
  shards?: number;
}

export function userAccountId(userId: string, code: 'wallet' | 'earnings'): string {
  return nameUuid('account', code, userId);
}

export function systemAccountId(code: SystemAccountCode, currency: string): string {
  return nameUuid('account', code, currency);
}

export type SystemAccountCode = 'escrow' | 'platform_revenue' | 'external' | 'payouts';

const SYSTEM_ACCOUNTS: SystemAccountCode[] = ['escrow', 'platform_revenue', 'external', 'payouts'];

/**
 * Creates an account and its balance rows, atomically; creating the same
 * account again is a no-op (and would restore missing balance rows).
 */
export async function createAccount(conn: Conn, account: NewAccount): Promise<void> {
  const shards = account.shards ?? 1;
  assert(Number.isInteger(shards) && shards >= 1 && shards <= 64, 'shards must be 1..64');
  assert(shards === 1 || account.limit === 'none', 'a limited account must have one shard');
  const debitLimit = account.limit === 'debits_must_not_exceed_credits';
  const creditLimit = account.limit === 'credits_must_not_exceed_debits';
  const insert = async (trx: Conn) => {
    await trx('ledger_accounts')
      .insert({
        id: account.id,
        code: account.code,
        user_id: account.userId,
        currency: account.currency,
        debits_must_not_exceed_credits: debitLimit,
        credits_must_not_exceed_debits: creditLimit,
        balance_shards: shards,
      })
      .onConflict('id')
      .ignore();
    await trx('ledger_balances')
      .insert(
        Array.from({ length: shards }, (_, shard) => ({
          account_id: account.id,
          shard,
          debits_must_not_exceed_credits: debitLimit,
          credits_must_not_exceed_debits: creditLimit,
        })),
      )
      .onConflict(['account_id', 'shard'])
      .ignore();
  };
  if ((conn as Partial<Trx>).isTransaction === true) await insert(conn);
  else await conn.transaction(insert);
}

/** The platform's own accounts: escrow (held money), revenue, the outside world (deposits), payouts. */
export async function ensureSystemAccounts(conn: Conn, currency: string): Promise<void> {
  for (const code of SYSTEM_ACCOUNTS) {
    await createAccount(conn, {
      id: systemAccountId(code, currency),
      code,
      userId: null,
      currency,
      limit: 'none',
      shards: SYSTEM_ACCOUNT_SHARDS,
    });
  }
}

/** A user's wallet (students, admins) or earnings (teachers): never below zero. */
export async function createUserAccount(
  conn: Conn,
  userId: string,
  code: 'wallet' | 'earnings',
  currency: string,
): Promise<string> {
  const id = userAccountId(userId, code);
  await createAccount(conn, { id, code, userId, currency, limit: 'debits_must_not_exceed_credits' });
  return id;
}

interface BalanceRow {
  account_id: string;
  debits_pending: number;
  debits_posted: number;
  credits_pending: number;
  credits_posted: number;
}

/** Balances summed over shards, in the order asked; an unknown account is an assertion failure. */
export async function getBalances(conn: Conn, accountIds: readonly string[]): Promise<AccountBalance[]> {
  assert(accountIds.length <= 1000, 'at most 1000 accounts per call');
  const { rows } = await conn.raw<{ rows: BalanceRow[] }>(
    `select account_id, sum(debits_pending)::int8 as debits_pending, sum(debits_posted)::int8 as debits_posted,
            sum(credits_pending)::int8 as credits_pending, sum(credits_posted)::int8 as credits_posted
       from ledger_balances where account_id = any (?::uuid[]) group by account_id`,
    [accountIds as string[]],
  );
  const byId = new Map(rows.map((r) => [r.account_id, r]));
  return accountIds.map((accountId) => {
    const r = byId.get(accountId);
    assert(r !== undefined, `no such account ${accountId}`);
    return {
      accountId,
      debitsPending: r.debits_pending,
      debitsPosted: r.debits_posted,
      creditsPending: r.credits_pending,
      creditsPosted: r.credits_posted,
    };
  });
}

export async function getBalance(conn: Conn, accountId: string): Promise<AccountBalance> {
  const [balance] = await getBalances(conn, [accountId]);
  return balance!;
}

/**
 * A credit-normal account (what the platform owes a user) seen by its owner:
 * `available` can be spent or withdrawn, `held` is reserved by pending
 * transfers, `total` is both.
 */
export function ownerView(b: AccountBalance): { available: number; held: number; total: number } {
  const total = b.creditsPosted - b.debitsPosted;
  return { available: total - b.debitsPending, held: b.debitsPending, total };
}
