// Stripe Checkout top-ups: one row per Checkout Session this service created,
// with what was asked (user, amount, currency), so that a webhook or the
// reconciler can check what Stripe says was paid against it before crediting.
// open -> paid (credited: the ledger transfer is committed with this status)
//      -> expired (the session ended unpaid)
//      -> failed (an asynchronous payment failed)
//      -> mismatched (Stripe reported another amount, currency or user: not
//         credited, logged as an error, for a person to look at)
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table topups (
      id uuid primary key,
      session_id text not null unique check (length(session_id) between 1 and 255),
      user_id uuid not null references users (id),
      amount bigint not null check (amount > 0),
      currency text not null check (currency ~ '^[a-z]{3}$'),
      status text not null default 'open'
        check (status in ('open', 'paid', 'expired', 'failed', 'mismatched')),
      -- Why a mismatched row was not credited (what Stripe reported).
      problem text check (length(problem) <= 1000),
      created_at timestamptz not null default now(),
      -- Last time the reconciler asked Stripe about it (it goes round the oldest first).
      checked_at timestamptz,
      paid_at timestamptz,
      check ((status = 'paid') = (paid_at is not null))
    );
    create index topups_open_idx on topups (checked_at nulls first, created_at) where status = 'open';
    create index topups_user_idx on topups (user_id, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table topups');
}
