import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table users (
      id uuid primary key default gen_random_uuid(),
      email text not null check (email = lower(email) and length(email) <= 254),
      password_hash text not null,
      name text not null check (length(name) between 1 and 200),
      role text not null check (role in ('student', 'teacher', 'admin')),
      -- Teachers hand this code to students; a student who registers with it is theirs.
      referral_code text unique check ((referral_code is not null) = (role = 'teacher')),
      referred_by_teacher_id uuid references users (id),
      created_at timestamptz not null default now()
    );
    create unique index users_email_key on users (email);
    create index users_role_idx on users (role);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table users');
}
