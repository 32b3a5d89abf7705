// Registration, login and the bootstrap admin.
import { randomInt } from 'node:crypto';
import { UniqueViolationError } from 'objection';
import type { Db } from '../db/knex';
import { ConflictError, UnauthorizedError, ValidationError } from '../domain/errors';
import { openWallet } from '../wallet/wallet-account';
import { hashPassword, verifyPassword } from './passwords';
import {
  adminExists,
  findTeacherByReferralCode,
  findUserByEmail,
  insertUser,
  referralCodeTaken,
} from './repository';
import type { TokenService } from './tokens';
import { toPublicUser, type PublicUser, type Role } from './user-model';

export interface UserServiceDeps {
  db: Db;
  tokens: TokenService;
  currency: string;
}

export interface Registration {
  email: string;
  password: string;
  name: string;
  role: 'student' | 'teacher';
  referralCode?: string | undefined;
}

export interface Session {
  user: PublicUser;
  token: string;
}

const REFERRAL_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const REFERRAL_CODE_LENGTH = 8;
const REFERRAL_CODE_ATTEMPTS = 10;

export async function register(deps: UserServiceDeps, input: Registration): Promise<Session> {
  if (input.role === 'teacher' && input.referralCode !== undefined) {
    throw new ValidationError('invalid request', [
      { path: 'referralCode', message: 'only students register with a referral code' },
    ]);
  }
  const email = input.email.toLowerCase();
  const passwordHash = await hashPassword(input.password);
  const user = await deps.db.transaction(async (trx) => {
    let referredByTeacherId: string | null = null;
    if (input.referralCode !== undefined) {
      const teacher = await findTeacherByReferralCode(trx, input.referralCode);
      if (teacher === undefined) {
        throw new ValidationError('invalid request', [
          { path: 'referralCode', message: 'no teacher has this referral code' },
        ]);
      }
      referredByTeacherId = teacher.id;
    }
    if ((await findUserByEmail(trx, email)) !== undefined) throw emailTaken();
    const created = await insertUser(trx, {
      email,
      passwordHash,
      name: input.name,
      role: input.role,
      referralCode: input.role === 'teacher' ? await newReferralCode(trx) : null,
      referredByTeacherId,
    }).catch((error: unknown) => {
      // Two registrations of one email racing: the unique index decides.
      // Objection wraps the driver's error; the SQLSTATE is on the original.
      if (error instanceof UniqueViolationError && error.constraint === 'users_email_key') throw emailTaken();
      throw error;
    });
    await openWallet(trx, created, deps.currency);
    return created;
  });
  return { user: toPublicUser(user), token: await deps.tokens.sign({ userId: user.id, role: user.role }) };
}

export async function login(deps: UserServiceDeps, email: string, password: string): Promise<Session> {
  const user = await findUserByEmail(deps.db, email);
  if (!(await verifyPassword(user?.passwordHash, password)) || user === undefined) {
    throw new UnauthorizedError('invalid email or password');
  }
  return { user: toPublicUser(user), token: await deps.tokens.sign({ userId: user.id, role: user.role }) };
}

/** Creates the configured admin when no admin exists yet; answers whether it did. */
export async function bootstrapAdmin(
  deps: Omit<UserServiceDeps, 'tokens'>,
  admin: { email: string; password: string } | undefined,
): Promise<boolean> {
  if (admin === undefined) return false;
  const passwordHash = await hashPassword(admin.password);
  return deps.db.transaction(async (trx) => {
    // Serialise concurrent starts (API and worker processes) on one lock.
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', ['bootstrap-admin']);
    if (await adminExists(trx)) return false;
    if ((await findUserByEmail(trx, admin.email)) !== undefined) {
      throw new Error(`ADMIN_EMAIL ${admin.email} belongs to an existing non-admin user`);
    }
    const role: Role = 'admin';
    const created = await insertUser(trx, {
      email: admin.email.toLowerCase(),
      passwordHash,
      name: 'Administrator',
      role,
      referralCode: null,
      referredByTeacherId: null,
    });
    await openWallet(trx, created, deps.currency);
    return true;
  });
}

function emailTaken(): ConflictError {
  return new ConflictError('email_taken', 'an account with this email already exists');
}

async function newReferralCode(trx: Db): Promise<string> {
  for (let attempt = 0; attempt < REFERRAL_CODE_ATTEMPTS; attempt++) {
    let code = '';
    for (let i = 0; i < REFERRAL_CODE_LENGTH; i++)
      code += REFERRAL_ALPHABET[randomInt(REFERRAL_ALPHABET.length)];
    if (!(await referralCodeTaken(trx, code))) return code;
  }
  throw new Error('could not find a free referral code');
}
