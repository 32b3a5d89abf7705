// Bearer tokens to users. A token must be valid and name a user who still exists.
import type { Request } from 'express';
import type { Db } from '../db/knex';
import { findUserById } from '../users/repository';
import type { TokenService } from '../users/tokens';
import type { UserModel } from '../users/user-model';
import { UnauthorizedError } from './errors';

/** The user a token names: undefined unless it is valid, unexpired, and its user still exists. */
export async function userOfToken(
  db: Db,
  tokens: TokenService,
  token: string,
): Promise<UserModel | undefined> {
  const claims = await tokens.verify(token);
  return claims === undefined ? undefined : findUserById(db, claims.userId);
}

export function createAuthenticator(db: Db, tokens: TokenService) {
  return async function authenticate(req: Request): Promise<UserModel> {
    const header = req.get('Authorization');
    if (header === undefined) throw new UnauthorizedError();
    // Auth schemes are case-insensitive (RFC 9110 11.1): `bearer` and `BEARER` are Bearer.
    const match = /^Bearer +([A-Za-z0-9_\-.]{1,4096})$/i.exec(header);
    if (match === null) throw new UnauthorizedError('expected "Authorization: Bearer <token>"');
    const user = await userOfToken(db, tokens, match[1]!);
    if (user === undefined) throw new UnauthorizedError('invalid or expired token');
    // For the request's log line.
    if (req.res !== undefined) req.res.locals.userId = user.id;
    return user;
  };
}
