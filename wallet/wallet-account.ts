// Which ledger account is a user's "wallet": what the platform owes them.
// Students (and admins) hold spendable credits; a teacher's wallet is their
// earnings, which they withdraw.
import { createUserAccount, userAccountId } from '../ledger/accounts';
import type { Conn } from '../db/knex';
import type { Role } from '../users/user-model';

export function walletAccountCode(role: Role): 'wallet' | 'earnings' {
  return role === 'teacher' ? 'earnings' : 'wallet';
}

export function walletAccountId(user: { id: string; role: Role }): string {
  return userAccountId(user.id, walletAccountCode(user.role));
}

export function openWallet(conn: Conn, user: { id: string; role: Role }, currency: string): Promise<string> {
  return createUserAccount(conn, user.id, walletAccountCode(user.role), currency);
}
