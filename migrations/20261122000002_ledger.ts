// The double-entry ledger: accounts, their balance counters, immutable
// transfers, and ledger_create_transfers(), the only way money moves.
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
// while a chain is applied, and every transfer records their balance after
// it, which makes statements cheap and exact.
import type { Knex } from 'knex';

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

    -- Business meaning of a transfer and how it reads on a user's statement.
    create table ledger_transfer_codes (
      code text primary key,
      line_type text not null check (line_type in ('deposit', 'purchase', 'refund', 'commission', 'withdrawal')),
      -- For a void or partial post: the status its pending transfer's line takes.
      resolved_status text check (resolved_status in ('completed', 'cancelled', 'failed'))
    );
    insert into ledger_transfer_codes (code, line_type, resolved_status) values
      ('deposit', 'deposit', null),
      ('topup', 'deposit', null),
      ('booking_hold', 'purchase', null),
      ('booking_charge', 'refund', 'completed'),
      ('booking_refund', 'refund', 'cancelled'),
      ('teacher_share', 'commission', null),
      ('platform_fee', 'commission', null),
      ('withdrawal_hold', 'withdrawal', null),
      ('withdrawal_payout', 'withdrawal', 'completed'),
      ('withdrawal_rejected', 'withdrawal', 'cancelled'),
      ('withdrawal_failed', 'withdrawal', 'failed');

    create table ledger_transfers (
      id uuid primary key,
      seq bigint generated always as identity unique,
      debit_account_id uuid not null references ledger_accounts (id),
      credit_account_id uuid not null references ledger_accounts (id),
      amount bigint not null check (amount >= 0),
      kind text not null check (kind in ('posted', 'pending', 'post_pending', 'void_pending')),
      pending_id uuid references ledger_transfers (id),
      code text not null references ledger_transfer_codes (code),
      reference_type text check (reference_type in ('booking', 'withdrawal', 'payment', 'deposit')),
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
      check ((reference_type is null) = (reference_id is null))
    );
    create unique index ledger_transfers_pending_id_key on ledger_transfers (pending_id) where pending_id is not null;
    create index ledger_transfers_debit_idx on ledger_transfers (debit_account_id, seq);
    create index ledger_transfers_credit_idx on ledger_transfers (credit_account_id, seq);
    create index ledger_transfers_reference_idx on ledger_transfers (reference_id) where reference_id is not null;

    create function ledger_forbid_mutation() returns trigger language plpgsql as $$
    begin
      raise exception 'ledger_transfers is append-only: % refused', tg_op using errcode = 'restrict_violation';
    end $$;
    create trigger ledger_transfers_immutable before update or delete on ledger_transfers
      for each row execute function ledger_forbid_mutation();
    create trigger ledger_transfers_no_truncate before truncate on ledger_transfers
      for each statement execute function ledger_forbid_mutation();
  `);

  await knex.raw(CREATE_TRANSFERS_FUNCTION);
}

/**
 * Applies one chain of transfers, all or nothing, and answers one result for
 * the chain: 'created', 'exists' (the same chain was applied before: an
 * idempotent retry), or the reason it was refused, with the index (1-based)
 * of the transfer that failed. Refusals change nothing. Impossible input (a
 * caller bug) raises instead.
 */
const CREATE_TRANSFERS_FUNCTION = `
create function ledger_shard_of(p_transfer_id uuid, p_shards smallint) returns smallint
language sql immutable parallel safe as $$
  select (((hashtextextended(p_transfer_id::text, 0) % p_shards) + p_shards) % p_shards)::smallint
$$;

create function ledger_create_transfers(
  p_ids uuid[],
  p_debit_ids uuid[],
  p_credit_ids uuid[],
  p_amounts bigint[],
  p_kinds text[],
  p_pending_ids uuid[],
  p_codes text[],
  p_reference_types text[],
  p_reference_ids uuid[],
  p_descriptions text[],
  out result text,
  out failed_index int
) language plpgsql as $$
declare
  n constant int := coalesce(array_length(p_ids, 1), 0);
  i int;
  j int;
  v_debits uuid[] := p_debit_ids;
  v_credits uuid[] := p_credit_ids;
  v_amounts bigint[] := p_amounts;
  v_pending_amounts bigint[] := array_fill(0::bigint, array[n]);
  v_debit_after bigint[] := array_fill(null::bigint, array[n]);
  v_credit_after bigint[] := array_fill(null::bigint, array[n]);
  v_existing ledger_transfers;
  v_pending ledger_transfers;
  v_existing_count int;
  v_resolution_kind text;
  -- Working set of the accounts the chain touches (at most 2n), as parallel arrays.
  a_ids uuid[];
  a_currency text[];
  a_shards smallint[];
  a_debit_limit boolean[];
  a_credit_limit boolean[];
  a_dp bigint[];
  a_dpo bigint[];
  a_cp bigint[];
  a_cpo bigint[];
  d int;
  c int;
  v_row record;
begin
  if n < 1 or n > 64 then
    raise exception 'ledger: a chain holds 1 to 64 transfers, got %', n;
  end if;
  if coalesce(array_length(p_debit_ids, 1), 0) <> n or coalesce(array_length(p_credit_ids, 1), 0) <> n
     or coalesce(array_length(p_amounts, 1), 0) <> n or coalesce(array_length(p_kinds, 1), 0) <> n
     or coalesce(array_length(p_pending_ids, 1), 0) <> n or coalesce(array_length(p_codes, 1), 0) <> n
     or coalesce(array_length(p_reference_types, 1), 0) <> n or coalesce(array_length(p_reference_ids, 1), 0) <> n
     or coalesce(array_length(p_descriptions, 1), 0) <> n then
    raise exception 'ledger: every argument array must hold % elements', n;
  end if;

  -- Serialise whoever else is applying one of these transfer ids or
  -- resolving one of these pending transfers: after this, the existence
  -- checks below are exact and the inserts cannot conflict.
  perform pg_advisory_xact_lock(k)
  from (select distinct hashtextextended(x::text, 0) as k
        from unnest(p_ids || p_pending_ids) as x where x is not null order by 1) as keys;

  -- Idempotency: the transfer id is the key. The same chain again answers
  -- 'exists'; the same id with other fields, or half a chain, is refused.
  -- Checked first, so that a retry is recognised whatever happened since.
  select count(*) into v_existing_count from ledger_transfers where id = any (p_ids);
  if v_existing_count > 0 then
    for i in 1 .. n loop
      select * into v_existing from ledger_transfers where id = p_ids[i];
      if not found then
        result := 'linked_chain_partially_exists'; failed_index := i; return;
      end if;
      -- A post or void may leave accounts and amount to its pending transfer.
      if (p_debit_ids[i] is not null and v_existing.debit_account_id <> p_debit_ids[i])
         or (p_credit_ids[i] is not null and v_existing.credit_account_id <> p_credit_ids[i])
         or (p_amounts[i] is not null and v_existing.amount <> p_amounts[i])
         or (p_amounts[i] is null and p_kinds[i] = 'post_pending'
             and v_existing.amount <> (select p.amount from ledger_transfers p where p.id = v_existing.pending_id))
         or v_existing.kind <> p_kinds[i]
         or v_existing.pending_id is distinct from p_pending_ids[i] or v_existing.code <> p_codes[i]
         or v_existing.reference_type is distinct from p_reference_types[i]
         or v_existing.reference_id is distinct from p_reference_ids[i]
         or v_existing.description is distinct from p_descriptions[i] then
        result := 'exists_with_different_fields'; failed_index := i; return;
      end if;
    end loop;
    result := 'exists'; failed_index := null; return;
  end if;

  -- Post and void inherit accounts and amount from their pending transfer.
  for i in 1 .. n loop
    if p_kinds[i] not in ('posted', 'pending', 'post_pending', 'void_pending') then
      raise exception 'ledger: unknown transfer kind %', p_kinds[i];
    end if;
    if p_kinds[i] in ('post_pending', 'void_pending') then
      select * into v_pending from ledger_transfers where id = p_pending_ids[i];
      if not found then
        result := 'pending_transfer_not_found'; failed_index := i; return;
      end if;
      if v_pending.kind <> 'pending' then
        result := 'pending_transfer_not_pending'; failed_index := i; return;
      end if;
      if (v_debits[i] is not null and v_debits[i] <> v_pending.debit_account_id)
         or (v_credits[i] is not null and v_credits[i] <> v_pending.credit_account_id) then
        result := 'pending_transfer_has_different_accounts'; failed_index := i; return;
      end if;
      select kind into v_resolution_kind from ledger_transfers where pending_id = p_pending_ids[i];
      if found then
        result := case v_resolution_kind when 'post_pending' then 'pending_transfer_already_posted'
                                         else 'pending_transfer_already_voided' end;
        failed_index := i; return;
      end if;
      for j in 1 .. i - 1 loop
        if p_pending_ids[j] = p_pending_ids[i] then
          raise exception 'ledger: a chain resolves pending transfer % twice', p_pending_ids[i];
        end if;
      end loop;
      v_debits[i] := v_pending.debit_account_id;
      v_credits[i] := v_pending.credit_account_id;
      v_pending_amounts[i] := v_pending.amount;
      if p_kinds[i] = 'void_pending' then
        if v_amounts[i] is not null and v_amounts[i] <> v_pending.amount then
          result := 'pending_transfer_has_different_amount'; failed_index := i; return;
        end if;
        v_amounts[i] := v_pending.amount;
      else
        v_amounts[i] := coalesce(v_amounts[i], v_pending.amount);
        if v_amounts[i] > v_pending.amount then
          result := 'exceeds_pending_transfer_amount'; failed_index := i; return;
        end if;
        if v_amounts[i] <= 0 then
          raise exception 'ledger: a post must move a positive amount (void the transfer instead)';
        end if;
      end if;
    else
      if p_pending_ids[i] is not null then
        raise exception 'ledger: only post and void name a pending transfer';
      end if;
      if v_amounts[i] is null or v_amounts[i] <= 0 then
        raise exception 'ledger: transfer % must move a positive amount, got %', p_ids[i], v_amounts[i];
      end if;
    end if;
    if v_debits[i] is null or v_credits[i] is null or v_debits[i] = v_credits[i] then
      raise exception 'ledger: transfer % needs two different accounts', p_ids[i];
    end if;
  end loop;

  -- Load the accounts; lock the single-shard ones (their limits are checked
  -- against these values) in id order, so that chains never deadlock.
  select array_agg(a.id order by a.id), array_agg(a.currency order by a.id), array_agg(a.balance_shards order by a.id),
         array_agg(a.debits_must_not_exceed_credits order by a.id), array_agg(a.credits_must_not_exceed_debits order by a.id)
    into a_ids, a_currency, a_shards, a_debit_limit, a_credit_limit
    from ledger_accounts a
   where a.id = any (v_debits || v_credits);
  for i in 1 .. n loop
    if array_position(a_ids, v_debits[i]) is null then
      result := 'debit_account_not_found'; failed_index := i; return;
    end if;
    if array_position(a_ids, v_credits[i]) is null then
      result := 'credit_account_not_found'; failed_index := i; return;
    end if;
    if a_currency[array_position(a_ids, v_debits[i])] <> a_currency[array_position(a_ids, v_credits[i])] then
      result := 'accounts_have_different_currencies'; failed_index := i; return;
    end if;
  end loop;

  perform 1
     from ledger_balances b
    where b.account_id = any (a_ids) and b.shard = 0
      and a_shards[array_position(a_ids, b.account_id)] = 1
    order by b.account_id
      for update;
  select array_agg(coalesce(b.debits_pending, 0) order by x.ord), array_agg(coalesce(b.debits_posted, 0) order by x.ord),
         array_agg(coalesce(b.credits_pending, 0) order by x.ord), array_agg(coalesce(b.credits_posted, 0) order by x.ord)
    into a_dp, a_dpo, a_cp, a_cpo
    from unnest(a_ids) with ordinality as x(id, ord)
    left join ledger_balances b on b.account_id = x.id and b.shard = 0 and a_shards[x.ord] = 1;

  -- Apply the chain to the working set in order, checking limits after each
  -- transfer. Sharded accounts start from zero: only their deltas matter.
  for i in 1 .. n loop
    d := array_position(a_ids, v_debits[i]);
    c := array_position(a_ids, v_credits[i]);
    case p_kinds[i]
      when 'posted' then
        a_dpo[d] := a_dpo[d] + v_amounts[i];
        a_cpo[c] := a_cpo[c] + v_amounts[i];
      when 'pending' then
        a_dp[d] := a_dp[d] + v_amounts[i];
        a_cp[c] := a_cp[c] + v_amounts[i];
      when 'post_pending' then
        a_dp[d] := a_dp[d] - v_pending_amounts[i];
        a_dpo[d] := a_dpo[d] + v_amounts[i];
        a_cp[c] := a_cp[c] - v_pending_amounts[i];
        a_cpo[c] := a_cpo[c] + v_amounts[i];
      when 'void_pending' then
        a_dp[d] := a_dp[d] - v_pending_amounts[i];
        a_cp[c] := a_cp[c] - v_pending_amounts[i];
    end case;
    if a_debit_limit[d] and a_dp[d] + a_dpo[d] > a_cpo[d] then
      result := 'exceeds_credits'; failed_index := i; return;
    end if;
    if a_credit_limit[c] and a_cp[c] + a_cpo[c] > a_dpo[c] then
      result := 'exceeds_debits'; failed_index := i; return;
    end if;
    if a_shards[d] = 1 then v_debit_after[i] := a_cpo[d] - a_dpo[d] - a_dp[d]; end if;
    if a_shards[c] = 1 then v_credit_after[i] := a_cpo[c] - a_dpo[c] - a_dp[c]; end if;
  end loop;

  insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, kind, pending_id, code,
                                reference_type, reference_id, description, debit_balance_after, credit_balance_after)
  select * from unnest(p_ids, v_debits, v_credits, v_amounts, p_kinds, p_pending_ids, p_codes,
                       p_reference_types, p_reference_ids, p_descriptions, v_debit_after, v_credit_after);

  -- Write the counters in (account, shard) order, so that chains never
  -- deadlock. A sharded account takes the shard its transfer id hashes to;
  -- a post or void takes the shard of its pending transfer, so that each
  -- shard's pending counters stay exact (and never negative).
  for j in 1 .. array_length(a_ids, 1) loop
    if a_shards[j] = 1 then
      update ledger_balances
         set debits_pending = a_dp[j], debits_posted = a_dpo[j], credits_pending = a_cp[j], credits_posted = a_cpo[j]
       where account_id = a_ids[j] and shard = 0;
      if not found then
        raise exception 'ledger: account % has no balance row', a_ids[j];
      end if;
    end if;
  end loop;
  for v_row in
    select s.account_id, s.shard, sum(s.dp) as dp, sum(s.dpo) as dpo, sum(s.cp) as cp, sum(s.cpo) as cpo
      from (
        select x.debit as account_id,
               ledger_shard_of(coalesce(x.pending_id, x.id), a_shards[array_position(a_ids, x.debit)]) as shard,
               case x.kind when 'pending' then x.amount when 'posted' then 0 else -x.pending_amount end as dp,
               case when x.kind in ('posted', 'post_pending') then x.amount else 0 end as dpo,
               0::bigint as cp, 0::bigint as cpo
          from unnest(p_ids, p_pending_ids, v_debits, p_kinds, v_amounts, v_pending_amounts)
               as x(id, pending_id, debit, kind, amount, pending_amount)
         where a_shards[array_position(a_ids, x.debit)] > 1
        union all
        select x.credit,
               ledger_shard_of(coalesce(x.pending_id, x.id), a_shards[array_position(a_ids, x.credit)]),
               0, 0,
               case x.kind when 'pending' then x.amount when 'posted' then 0 else -x.pending_amount end,
               case when x.kind in ('posted', 'post_pending') then x.amount else 0 end
          from unnest(p_ids, p_pending_ids, v_credits, p_kinds, v_amounts, v_pending_amounts)
               as x(id, pending_id, credit, kind, amount, pending_amount)
         where a_shards[array_position(a_ids, x.credit)] > 1
      ) as s
     group by s.account_id, s.shard
     order by s.account_id, s.shard
  loop
    update ledger_balances
       set debits_pending = debits_pending + v_row.dp, debits_posted = debits_posted + v_row.dpo,
           credits_pending = credits_pending + v_row.cp, credits_posted = credits_posted + v_row.cpo
     where account_id = v_row.account_id and shard = v_row.shard;
    if not found then
      raise exception 'ledger: account % has no balance row for shard %', v_row.account_id, v_row.shard;
    end if;
  end loop;

  result := 'created'; failed_index := null;
end $$;
`;

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function ledger_create_transfers;
    drop function ledger_shard_of;
    drop table ledger_transfers;
    drop function ledger_forbid_mutation;
    drop table ledger_transfer_codes;
    drop table ledger_balances;
    drop table ledger_accounts;
  `);
}
