// Data every test creates for itself. Ledger tests need users only as owners
// of accounts, so they are inserted directly; API tests register through HTTP.
import { randomUUID } from 'node:crypto';
import type { Conn } from '../../db/knex';
import { createUserAccount, systemAccountId } from '../../ledger/accounts';
import { nameUuid } from '../../ledger/ids';
import { createTransfers } from '../../ledger/transfers';
import { TEST_CURRENCY } from './db';

export async function insertUser(
  conn: Conn,
  role: 'student' | 'teacher' | 'admin' = 'student',
): Promise<string> {
  const id = randomUUID();
  await conn('users').insert({
    id,
    email: `${role}-${id}@test.example`,
    password_hash: 'not-a-real-hash',
    name: `Test ${role}`,
    role,
    referral_code: role === 'teacher' ? `T${id.slice(0, 8).toUpperCase()}` : null,
  });
  return id;
}

/** A user with a wallet holding `amount` (deposited from the outside world). */
export async function fundedWallet(conn: Conn, amount: number): Promise<string> {
  const userId = await insertUser(conn);
  const walletId = await createUserAccount(conn, userId, 'wallet', TEST_CURRENCY);
  if (amount > 0) {
    const result = await createTransfers(conn, [
      {
        id: nameUuid('test-deposit', walletId),
        kind: 'posted',
        debitAccountId: systemAccountId('external', TEST_CURRENCY),
        creditAccountId: walletId,
        amount,
        code: 'deposit',
      },
    ]);
    if (result.status !== 'created') throw new Error(`test deposit failed: ${JSON.stringify(result)}`);
  }
  return walletId;
}

export const escrowAccount = () => systemAccountId('escrow', TEST_CURRENCY);
export const externalAccount = () => systemAccountId('external', TEST_CURRENCY);
