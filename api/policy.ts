// Who may do what to whose resources, in one place. Route declarations say
// which roles may call a route at all; these functions decide per resource.
// A resource the caller may not see answers 404 (its existence is not
// revealed); one they may see but not change answers 403.
import { ForbiddenError } from './errors';
import type { UserModel } from '../users/user-model';

/** Deposits: administrators into any wallet, everyone else only into their own. */
export function assertMayDepositTo(actor: UserModel, targetUserId: string): void {
  if (actor.role !== 'admin' && targetUserId !== actor.id) {
    throw new ForbiddenError('only administrators may deposit into another user’s wallet');
  }
}
