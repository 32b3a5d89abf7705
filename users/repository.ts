// One function per database operation on users; each takes the connection or
// transaction to run in. (Objection maps model properties to snake_case
// columns, but not the keys of where-clauses: those are written as columns.)
import type { Conn } from '../db/knex';
import { UserModel, type Role } from './user-model';

export interface NewUser {
  email: string;
  passwordHash: string;
  name: string;
  role: Role;
  referralCode: string | null;
  referredByTeacherId: string | null;
}

export async function insertUser(conn: Conn, user: NewUser): Promise<UserModel> {
  return await UserModel.query(conn).insert(user).returning('*');
}

export async function findUserById(conn: Conn, id: string): Promise<UserModel | undefined> {
  return await UserModel.query(conn).findById(id);
}

export async function findUserByEmail(conn: Conn, email: string): Promise<UserModel | undefined> {
  return await UserModel.query(conn).findOne({ email: email.toLowerCase() });
}

export async function findTeacherByReferralCode(conn: Conn, code: string): Promise<UserModel | undefined> {
  return await UserModel.query(conn).findOne({ referral_code: code.toUpperCase(), role: 'teacher' });
}

export async function adminExists(conn: Conn): Promise<boolean> {
  return (await UserModel.query(conn).findOne({ role: 'admin' })) !== undefined;
}

export async function referralCodeTaken(conn: Conn, code: string): Promise<boolean> {
  return (await UserModel.query(conn).findOne({ referral_code: code })) !== undefined;
}
