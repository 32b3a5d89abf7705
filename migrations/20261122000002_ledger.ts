// The double-entry ledger: accounts, their balance counters and immutable
// transfers. Money moves only through ledger/transfers.ts, which applies the
// rules of ledger/engine.ts under locks; the constraints here are the
// database's own last line of defence.
//
// ledger_transfers has no foreign keys, on purpose: they were a third of the
// cost of writing a batch (npm run bench:ledger), and they would re-check
// what the engine establishes anyway, under lock, for every transfer (the
// accounts and the hold it names exist; accounts and transfers are never
// deleted). The audit checks referential integrity instead.
//
// Model (after TigerBeetle): a transfer debits one account and credits
// another by the same amount. A `pending` transfer reserves money (pending
// counters); a later `post_pending` moves all or part of it to the posted
// counters and releases the rest, or a `void_pending` releases all of it.
// Each pending transfer is resolved at most once: a unique index on
// pending_id enforces it. Transfers are never updated or deleted (triggers),
// so every balance can be recomputed from them at any time (the audit).
//
// Hot accounts (escrow, platform revenue, the external world) are credited
// by almost every transfer. Their counters are split over shard rows so that
// concurrent transactions do not queue on one row lock; the balance is the
// sum of the shards. Only unlimited accounts may be sharded: a balance limit
// needs one row to lock and check. User accounts have one shard, are locked
// while a batch is applied, and every transfer records their balance after
// it, which makes statements cheap and exact.
import type { Knex } from 'knex';

/**
 * Business codes of transfers: (code, the one kind it is for, how it reads on
 * a statement, and for a post or void the status its hold's line takes).
 * Must match TRANSFER_CODE_KINDS in ledger/types.ts (a test checks).
 */
const CODES: [string, string, string, string | null][] = [
  ['deposit', 'posted', 'deposit', null],
  ['topup', 'posted', 'deposit', null],
  ['booking_hold', 'pending', 'purchase', null],
  ['booking_charge', 'post_pending', 'refund', 'completed'],
  ['booking_refund', 'void_pending', 'refund', 'cancelled'],
  ['teacher_share', 'posted', 'commission', null],
  ['platform_fee', 'posted', 'commission', null],
  ['withdrawal_hold', 'pending', 'withdrawal', null],
  ['withdrawal_payout', 'post_pending', 'withdrawal', 'completed'],
  ['withdrawal_rejected', 'void_pending', 'withdrawal', 'cancelled'],
  ['withdrawal_failed', 'void_pending', 'withdrawal', 'failed'],
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table ledger_accounts (
      id uuid primary key,
      code text not null check (code in ('wallet', 'earnings', 'escrow', 'platform_revenue', 'external', 'payouts')),
      user_id uuid references users (id),
      currency text not null check (currency ~ '^[a-z]{3}$'),
      debits_must_not_exceed_credits boolean not null default false,
      credits_must_not_exceed_debits boolean not null default false,
      balance_shards smallint not null default 1 check (balance_shards between 1 and 64),
      created_at timestamptz not null default now(),
      check ((code in ('wallet', 'earnings')) = (user_id is not null)),
      check (not (debits_must_not_exceed_credits and credits_must_not_exceed_debits)),
      check (balance_shards = 1 or not (debits_must_not_exceed_credits or credits_must_not_exceed_debits))
    );
    create unique index ledger_accounts_user_code_key on ledger_accounts (user_id, code) where user_id is not null;
    create unique index ledger_accounts_system_code_key on ledger_accounts (code, currency) where user_id is null;

    -- The limit flags are copied here so that the database itself refuses a
    -- balance that breaks them, whatever code wrote it.
    create table ledger_balances (
      account_id uuid not null references ledger_accounts (id),
      shard smallint not null check (shard >= 0),
      debits_must_not_exceed_credits boolean not null,
      credits_must_not_exceed_debits boolean not null,
      debits_pending bigint not null default 0 check (debits_pending >= 0),
      debits_posted bigint not null default 0 check (debits_posted >= 0),
      credits_pending bigint not null default 0 check (credits_pending >= 0),
      credits_posted bigint not null default 0 check (credits_posted >= 0),
      primary key (account_id, shard),
      constraint ledger_balances_debits_limit
        check (not debits_must_not_exceed_credits or debits_pending + debits_posted <= credits_posted),
      constraint ledger_balances_credits_limit
        check (not credits_must_not_exceed_debits or credits_pending + credits_posted <= debits_posted)
    );

    -- Business meaning of a transfer: the one kind it may have (checked on
    -- every transfer, so a hold cannot be resolved under a code that would
    -- misread on statements) and how it reads on a user's statement.
    create table ledger_transfer_codes (
      code text primary key,
      kind text not null check (kind in ('posted', 'pending', 'post_pending', 'void_pending')),
      line_type text not null check (line_type in ('deposit', 'purchase', 'refund', 'commission', 'withdrawal')),
      -- For a post or void: the status its pending transfer's line takes.
      resolved_status text check ((resolved_status is not null) = (kind in ('post_pending', 'void_pending'))
                                  and resolved_status in ('completed', 'cancelled', 'failed')),
      unique (code, kind)
    );
    insert into ledger_transfer_codes (code, kind, line_type, resolved_status) values
      ${CODES.map(([code, kind, lineType, resolved]) => `('${code}', '${kind}', '${lineType}', ${resolved === null ? 'null' : `'${resolved}'`})`).join(',\n      ')};

    create table ledger_transfers (
      id uuid primary key,
      -- Total order of transfers (statements, the audit's running sums); no index of its own.
      seq bigint generated always as identity,
      debit_account_id uuid not null,
      credit_account_id uuid not null,
      amount bigint not null check (amount >= 0),
      kind text not null check (kind in ('posted', 'pending', 'post_pending', 'void_pending')),
      pending_id uuid,
      code text not null,
      reference_type text check (reference_type in ('booking', 'withdrawal', 'payment')),
      reference_id uuid,
      description text check (length(description) <= 500),
      -- Balance (credits posted - debits posted - debits pending) of each side
      -- after this transfer, for single-shard accounts; null for sharded ones.
      debit_balance_after bigint,
      credit_balance_after bigint,
      created_at timestamptz not null default now(),
      check (debit_account_id <> credit_account_id),
      check ((kind in ('post_pending', 'void_pending')) = (pending_id is not null)),
      check (kind in ('post_pending', 'void_pending') or amount > 0),
      check ((reference_type is null) = (reference_id is null)),
      constraint ledger_transfers_code_kind check ((code, kind) in (${CODES.map(([code, kind]) => `('${code}', '${kind}')`).join(', ')}))
    );
    create unique index ledger_transfers_pending_id_key on ledger_transfers (pending_id) where pending_id is not null;
    create index ledger_transfers_debit_idx on ledger_transfers (debit_account_id, seq);
    create index ledger_transfers_credit_idx on ledger_transfers (credit_account_id, seq);
    create index ledger_transfers_reference_idx on ledger_transfers (reference_id) where reference_id is not null;

    create function ledger_forbid_mutation() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = 'restrict_violation';
    end $$;
    create trigger ledger_transfers_immutable before update or delete on ledger_transfers
      for each row execute function ledger_forbid_mutation();
    create trigger ledger_transfers_no_truncate before truncate on ledger_transfers
      for each statement execute function ledger_forbid_mutation();
    -- Accounts are never changed or removed either, so what a transfer names always exists.
    create trigger ledger_accounts_immutable before update or delete on ledger_accounts
      for each row execute function ledger_forbid_mutation();
    create trigger ledger_accounts_no_truncate before truncate on ledger_accounts
      for each statement execute function ledger_forbid_mutation();
  `);

  await knex.raw(SHARD_FUNCTION);
}

/**
 * The balance row a transfer writes on a sharded account (see
 * ledger/engine.ts shardOf, which must agree): the first 32 bits of its id,
 * or of its pending transfer's id for a post or void, modulo the shards.
 */
const SHARD_FUNCTION = `
create function ledger_shard_of(p_transfer_id uuid, p_shards smallint) returns smallint
language sql immutable parallel safe as $$
  select (('x' || substr(replace(p_transfer_id::text, '-', ''), 1, 8))::bit(32)::bigint % p_shards)::smallint
$$;
`;

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function ledger_shard_of;
    drop table ledger_transfers;
    drop function ledger_forbid_mutation;
    drop table ledger_transfer_codes;
    drop table ledger_balances;
    drop table ledger_accounts;
  `);
}
