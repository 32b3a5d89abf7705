// Withdrawals: a teacher's request to be paid what they earned, followed by
// one workflow (withdrawal-<id>) through an admin's decision and the payout.
// The money is held in the ledger from the request on (withdrawals/ledger.ts);
// this row says where the request stands and where the money goes.
//
// Bank details are stored encrypted (AES-256-GCM, withdrawals/bank-details.ts)
// with the id of the key that sealed them, so keys can rotate; only a masked
// form (holder, bank, last 4) is kept in the clear, for every response.
//
// Teachers paid through Stripe Connect name their connected account once
// (users.stripe_account_id); it is copied into each withdrawal when asked.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table users add column stripe_account_id text
      check (stripe_account_id ~ '^acct_[A-Za-z0-9]{1,64}$');

    create table withdrawals (
      id uuid primary key,
      teacher_id uuid not null references users (id),
      amount bigint not null check (amount > 0),
      currency text not null check (currency ~ '^[a-z]{3}$'),
      status text not null default 'pending'
        check (status in ('pending', 'processing', 'completed', 'rejected', 'failed')),
      -- How it is paid, fixed when asked (a configuration change never reroutes it).
      provider text not null check (provider in ('manual', 'stripe')),
      stripe_account_id text check (stripe_account_id ~ '^acct_[A-Za-z0-9]{1,64}$'),
      bank_account_sealed text not null,
      bank_account_key_id text not null check (length(bank_account_key_id) between 1 and 64),
      -- {holderName, bankName, last4}: what responses show.
      bank_account_masked jsonb not null,
      decided_by uuid references users (id),
      decided_at timestamptz,
      reject_reason text check (length(reject_reason) <= 1000),
      failure_reason text check (length(failure_reason) <= 1000),
      -- The bank transfer's reference (manual) or the Stripe transfer id.
      payout_reference text check (length(payout_reference) <= 200),
      completed_at timestamptz,
      -- Set once the workflow is known to be started; the reconciler starts the rest.
      workflow_started boolean not null default false,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (provider <> 'stripe' or stripe_account_id is not null),
      check ((status = 'pending') = (decided_at is null)),
      check ((status = 'completed') = (payout_reference is not null and completed_at is not null)),
      check ((status = 'rejected') = (reject_reason is not null)),
      check ((status = 'failed') = (failure_reason is not null))
    );
    create index withdrawals_teacher_idx on withdrawals (teacher_id, created_at desc, id);
    create index withdrawals_status_idx on withdrawals (status, created_at desc, id);
    create index withdrawals_created_idx on withdrawals (created_at desc, id);
    create index withdrawals_unstarted_idx on withdrawals (created_at) where not workflow_started;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table withdrawals;
    alter table users drop column stripe_account_id;
  `);
}
