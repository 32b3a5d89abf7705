// `transactions`: the user-facing statement, one line per change of a user
// account's balance (credits posted - debits posted - debits pending), derived
// from the immutable transfers, so it can never disagree with the ledger.
//
//   hold (pending)            -> a line of -amount; its status follows the hold:
//                                pending, then completed (posted) or cancelled/failed (voided)
//   void, or a partial post   -> a line returning what was not posted (+amount)
//   single-phase transfer     -> a line of -amount / +amount, completed
//
// `idempotency_keys`: the first response of a money-moving POST, replayed when
// the same user sends the same Idempotency-Key and body again.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create view transactions as
    select t.id, t.seq, a.user_id, a.id as account_id, a.currency, code.line_type as type,
           -t.amount as amount,
           t.debit_balance_after + t.amount as balance_before,
           t.debit_balance_after as balance_after,
           case when t.kind = 'posted' then 'completed'
                when r.id is null then 'pending'
                else rc.resolved_status end as status,
           t.reference_type, t.reference_id, t.description, t.created_at
      from ledger_transfers t
      join ledger_accounts a on a.id = t.debit_account_id and a.user_id is not null
      join ledger_transfer_codes code on code.code = t.code
      left join ledger_transfers r on r.pending_id = t.id
      left join ledger_transfer_codes rc on rc.code = r.code
     where t.kind in ('posted', 'pending')
    union all
    select t.id, t.seq, a.user_id, a.id, a.currency, code.line_type,
           p.amount - case when t.kind = 'void_pending' then 0 else t.amount end,
           t.debit_balance_after - (p.amount - case when t.kind = 'void_pending' then 0 else t.amount end),
           t.debit_balance_after,
           'completed',
           t.reference_type, t.reference_id, t.description, t.created_at
      from ledger_transfers t
      join ledger_transfers p on p.id = t.pending_id
      join ledger_accounts a on a.id = t.debit_account_id and a.user_id is not null
      join ledger_transfer_codes code on code.code = t.code
     where t.kind = 'void_pending' or (t.kind = 'post_pending' and t.amount < p.amount)
    union all
    select t.id, t.seq, a.user_id, a.id, a.currency, code.line_type,
           t.amount,
           t.credit_balance_after - t.amount,
           t.credit_balance_after,
           'completed',
           t.reference_type, t.reference_id, t.description, t.created_at
      from ledger_transfers t
      join ledger_accounts a on a.id = t.credit_account_id and a.user_id is not null
      join ledger_transfer_codes code on code.code = t.code
     where t.kind in ('posted', 'post_pending');

    -- A key is claimed (in_progress, with a lease) before the request runs and
    -- completed with its response after; a crashed request's lease expires
    -- and a retry takes it over, which is safe because money-moving work
    -- derives its transfer ids from the key.
    create table idempotency_keys (
      user_id uuid not null references users (id),
      key text not null check (length(key) between 1 and 255),
      request_hash text not null,
      state text not null check (state in ('in_progress', 'completed')),
      -- Who holds the claim: only they may complete or release it.
      claim_token uuid not null,
      lease_until timestamptz not null,
      status_code int check ((state = 'completed') = (status_code is not null)),
      response_body jsonb,
      created_at timestamptz not null default now(),
      primary key (user_id, key)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table idempotency_keys; drop view transactions;');
}
