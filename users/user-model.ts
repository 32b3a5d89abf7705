import { Model, snakeCaseMappers } from 'objection';

export type Role = 'student' | 'teacher' | 'admin';

export class UserModel extends Model {
  static override tableName = 'users';
  static override get columnNameMappers() {
    return snakeCaseMappers();
  }

  id!: string;
  email!: string;
  passwordHash!: string;
  name!: string;
  role!: Role;
  referralCode!: string | null;
  referredByTeacherId!: string | null;
  createdAt!: Date;
}

/** What the API shows of a user (never the password hash). */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  referralCode: string | null;
  referredByTeacherId: string | null;
  createdAt: string;
}

export function toPublicUser(user: UserModel): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    referralCode: user.referralCode,
    referredByTeacherId: user.referredByTeacherId,
    createdAt: user.createdAt.toISOString(),
  };
}
