// Checkpoints of the incremental ledger audit (ledger/incremental-audit.ts).
//
// A checkpoint is a database snapshot: the per-(account, shard) totals of
// every transfer visible in it. Which transfers that is cannot be said with
// `seq`: it is drawn when a row is inserted, so a transfer with a lower seq can
// commit after one with a higher seq, and a boundary "seq <= n" would count
// the late one never, or (with a margin) twice. Each transfer therefore
// records the transaction that wrote it (`xid`, filled by the column default),
// and a checkpoint keeps its snapshot: the transfers of the next round are
// exactly those whose transaction that snapshot does not see. The index on
// xid makes a round read only them (the rows written before this migration
// have none; every checkpoint sees them).
//
// ledger_audit_checkpoints is append-only (one row per round, a chain through
// previous_id, which a unique key keeps linear when two audits race); the
// totals of a checkpoint are kept for the latest two only, which is what the
// next round reads (its own base, and the one before to check the base
// against), so they are deleted but never changed.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table ledger_transfers add column xid xid8;
    alter table ledger_transfers alter column xid set default pg_current_xact_id();
    -- New rows must carry it (old ones have none: not validated).
    alter table ledger_transfers add constraint ledger_transfers_xid_present check (xid is not null) not valid;
    create index ledger_transfers_xid_idx on ledger_transfers (xid) where xid is not null;

    create table ledger_audit_checkpoints (
      id bigint generated always as identity primary key,
      previous_id bigint references ledger_audit_checkpoints (id),
      -- full: recomputed from every transfer; incremental: the previous one plus the transfers since.
      kind text not null check (kind in ('full', 'incremental')),
      snapshot pg_snapshot not null,
      -- Transfers summed in it, and how many of them were new since the previous checkpoint.
      transfers bigint not null check (transfers >= 0),
      window_transfers bigint not null check (window_transfers >= 0 and window_transfers <= transfers),
      created_at timestamptz not null default now(),
      check (kind = 'full' or previous_id is not null),
      constraint ledger_audit_checkpoints_previous_key unique nulls not distinct (previous_id)
    );

    create table ledger_audit_checkpoint_balances (
      checkpoint_id bigint not null references ledger_audit_checkpoints (id),
      account_id uuid not null,
      shard smallint not null,
      debits_pending bigint not null,
      debits_posted bigint not null,
      credits_pending bigint not null,
      credits_posted bigint not null,
      primary key (checkpoint_id, account_id, shard)
    );

    create trigger ledger_audit_checkpoints_immutable before update or delete on ledger_audit_checkpoints
      for each row execute function ledger_forbid_mutation();
    create trigger ledger_audit_checkpoints_no_truncate before truncate on ledger_audit_checkpoints
      for each statement execute function ledger_forbid_mutation();
    create trigger ledger_audit_checkpoint_balances_immutable before update on ledger_audit_checkpoint_balances
      for each row execute function ledger_forbid_mutation();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table ledger_audit_checkpoint_balances;
    drop table ledger_audit_checkpoints;
    drop index ledger_transfers_xid_idx;
    alter table ledger_transfers drop constraint ledger_transfers_xid_present;
    alter table ledger_transfers drop column xid;
  `);
}
