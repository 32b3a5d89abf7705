import { findUserById } from '../../users/repository';
import { login, register, type UserServiceDeps } from '../../users/service';
import { toPublicUser } from '../../users/user-model';
import { NotFoundError } from '../errors';
import type { ApiRoutes } from '../route';
import { text, User } from '../schemas';
import { z } from '../zod';

const Session = z.object({ user: User, token: z.string() }).openapi('Session');

const Registration = z
  .object({
    email: z.email().max(254),
    password: text({ min: 8, max: 200 }),
    name: text({ min: 1, max: 200, trim: true }),
    role: z.enum(['student', 'teacher']),
    referralCode: text({ min: 1, max: 32, trim: true }).optional(),
  })
  .strict()
  .openapi('Registration');

const Credentials = z
  .object({ email: text({ min: 1, max: 254 }), password: text({ min: 1, max: 200 }) })
  .strict()
  .openapi('Credentials');

export function authRoutes(routes: ApiRoutes, deps: UserServiceDeps): void {
  routes.addPublic({
    method: 'post',
    path: '/auth/register',
    summary: 'Create a student or teacher account',
    tags: ['auth'],
    access: 'public',
    body: Registration,
    success: { status: 201, description: 'The new user and an access token', schema: Session },
    errors: [409, 429],
    handler: async ({ body }) => ({ status: 201, body: await register(deps, body) }),
  });

  routes.addPublic({
    method: 'post',
    path: '/auth/login',
    summary: 'Exchange email and password for an access token',
    tags: ['auth'],
    access: 'public',
    body: Credentials,
    success: { status: 200, description: 'The user and an access token', schema: Session },
    errors: [401, 429],
    handler: async ({ body }) => ({ status: 200, body: await login(deps, body.email, body.password) }),
  });

  routes.add({
    method: 'get',
    path: '/me',
    summary: 'The calling user',
    tags: ['auth'],
    access: ['student', 'teacher', 'admin'],
    success: { status: 200, description: 'The user', schema: User },
    handler: async ({ user }) => {
      const fresh = await findUserById(deps.db, user.id);
      if (fresh === undefined) throw new NotFoundError('user');
      return { status: 200, body: toPublicUser(fresh) };
    },
  });
}
