// The ledger audit: recomputes every balance from the immutable transfers and
// checks every invariant of SPEC section 3. Anyone can run it
// (`npm run ledger:audit`); tests run it after every step. Each check is one
// query answering the offending rows (at most SAMPLE of them); none is ok.
import type { Conn } from '../db/knex';

export const SAMPLE = 20;

export interface AuditCheck {
  name: string;
  ok: boolean;
  /** Up to SAMPLE offending rows. */
  breaches: Record<string, unknown>[];
}

export interface AuditReport {
  ok: boolean;
  checks: AuditCheck[];
  accounts: number;
  transfers: number;
  /** How the balances were checked: recomputed from every transfer, or from the last checkpoint on. */
  mode: 'full' | 'incremental';
  /** The checkpoint the audit started from and the one it recorded (ledger/incremental-audit.ts). */
  checkpoint?: CheckpointSummary;
}

export interface CheckpointSummary {
  /** The checkpoint an incremental audit started from (null for a full one). */
  baseId: number | null;
  /** Transfers committed since the base checkpoint (all of them for a full audit). */
  windowTransfers: number;
  /** The checkpoint recorded by this audit; null when it found a breach or another audit recorded one first. */
  recordedId: number | null;
}

/**
 * Per transfer and side: the balance row (account, shard) it wrote, its
 * effect on the four counters, and its effect on the owner's balance.
 */
const EFFECTS = `
  with t as (
    select t.*, p.amount as pending_amount, coalesce(t.pending_id, t.id) as shard_key,
           (t.kind = 'pending' and r.id is null) as unresolved
      from ledger_transfers t
      left join ledger_transfers p on p.id = t.pending_id
      left join ledger_transfers r on r.pending_id = t.id
  ),
  sides as (
    select t.seq, t.id, t.debit_account_id as account_id, t.shard_key,
           case when t.unresolved then t.amount else 0 end as dp,
           case when t.kind in ('posted', 'post_pending') then t.amount else 0 end as dpo,
           0::bigint as cp, 0::bigint as cpo,
           case t.kind when 'posted' then -t.amount when 'pending' then -t.amount
                       when 'post_pending' then t.pending_amount - t.amount else t.pending_amount end as balance_delta,
           t.debit_balance_after as balance_after
      from t
    union all
    select t.seq, t.id, t.credit_account_id, t.shard_key,
           0, 0,
           case when t.unresolved then t.amount else 0 end,
           case when t.kind in ('posted', 'post_pending') then t.amount else 0 end,
           case when t.kind in ('posted', 'post_pending') then t.amount else 0 end,
           t.credit_balance_after
      from t
  ),
  effects as (
    select s.*, ledger_shard_of(s.shard_key, a.balance_shards) as shard
      from sides s join ledger_accounts a on a.id = s.account_id
  )`;

/**
 * Every check; `scope` says what it reads: the balance rows alone (cheap, O(accounts):
 * the incremental audit runs these as they are) or the transfers (the
 * incremental audit runs its own versions over the transfers since its checkpoint,
 * under the same names).
 */
export const CHECKS: { name: string; scope: 'balances' | 'transfers'; sql: string }[] = [
  {
    name: 'total debits equal total credits (posted and pending separately)',
    scope: 'balances',
    sql: `select sum(debits_posted) as debits_posted, sum(credits_posted) as credits_posted,
                 sum(debits_pending) as debits_pending, sum(credits_pending) as credits_pending
            from ledger_balances
          having sum(debits_posted) <> sum(credits_posted) or sum(debits_pending) <> sum(credits_pending)`,
  },
  {
    name: 'every account balance (each shard of it) equals the sum of its transfers',
    scope: 'transfers',
    sql: `${EFFECTS},
          recomputed as (
            select account_id, shard, sum(dp) as dp, sum(dpo) as dpo, sum(cp) as cp, sum(cpo) as cpo
              from effects group by account_id, shard
          )
          select b.account_id, b.shard,
                 b.debits_pending::numeric as dp, b.debits_posted::numeric as dpo,
                 b.credits_pending::numeric as cp, b.credits_posted::numeric as cpo,
                 r.dp as recomputed_dp, r.dpo as recomputed_dpo, r.cp as recomputed_cp, r.cpo as recomputed_cpo
            from ledger_balances b
            full join recomputed r on r.account_id = b.account_id and r.shard = b.shard
           where (b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted) is distinct from
                 (coalesce(r.dp, 0), coalesce(r.dpo, 0), coalesce(r.cp, 0), coalesce(r.cpo, 0))`,
  },
  {
    name: 'no wallet or earnings account below zero (balance limits hold)',
    scope: 'balances',
    sql: `select a.id as account_id, a.code, a.user_id,
                 sum(b.debits_pending) as dp, sum(b.debits_posted) as dpo,
                 sum(b.credits_pending) as cp, sum(b.credits_posted) as cpo
            from ledger_accounts a join ledger_balances b on b.account_id = a.id
           group by a.id
          having (bool_or(a.debits_must_not_exceed_credits) and sum(b.debits_pending) + sum(b.debits_posted) > sum(b.credits_posted))
              or (bool_or(a.credits_must_not_exceed_debits) and sum(b.credits_pending) + sum(b.credits_posted) > sum(b.debits_posted))
              or (a.code in ('wallet', 'earnings') and not bool_or(a.debits_must_not_exceed_credits))`,
  },
  {
    name: 'each account has exactly its shard rows, with its limit flags',
    scope: 'balances',
    sql: `select a.id as account_id, a.balance_shards, count(b.shard) as rows,
                 count(*) filter (where b.debits_must_not_exceed_credits <> a.debits_must_not_exceed_credits
                                     or b.credits_must_not_exceed_debits <> a.credits_must_not_exceed_debits) as flag_mismatches
            from ledger_accounts a left join ledger_balances b on b.account_id = a.id
           group by a.id
          having count(b.shard) <> a.balance_shards or max(b.shard) <> a.balance_shards - 1
              or count(*) filter (where b.debits_must_not_exceed_credits <> a.debits_must_not_exceed_credits
                                     or b.credits_must_not_exceed_debits <> a.credits_must_not_exceed_debits) > 0`,
  },
  {
    name: 'each hold is resolved at most once',
    scope: 'transfers',
    sql: `select pending_id, count(*) as resolutions from ledger_transfers
           where pending_id is not null group by pending_id having count(*) > 1`,
  },
  {
    name: 'each post or void matches its pending transfer (accounts, amount within the hold)',
    scope: 'transfers',
    sql: `select r.id, r.kind, r.amount, p.id as pending_id, p.kind as pending_kind, p.amount as pending_amount
            from ledger_transfers r join ledger_transfers p on p.id = r.pending_id
           where p.kind <> 'pending'
              or r.debit_account_id <> p.debit_account_id or r.credit_account_id <> p.credit_account_id
              or (r.kind = 'post_pending' and (r.amount <= 0 or r.amount > p.amount))
              or (r.kind = 'void_pending' and r.amount <> p.amount)`,
  },
  {
    name: 'both sides of every transfer are in one currency',
    scope: 'transfers',
    sql: `select t.id, d.currency as debit_currency, c.currency as credit_currency
            from ledger_transfers t
            join ledger_accounts d on d.id = t.debit_account_id
            join ledger_accounts c on c.id = t.credit_account_id
           where d.currency <> c.currency`,
  },
  {
    name: 'recorded balance-after of single-shard accounts equals the running sum (statements are exact)',
    scope: 'transfers',
    sql: `${EFFECTS},
          running as (
            select e.id, e.account_id, e.balance_after,
                   sum(e.balance_delta) over (partition by e.account_id order by e.seq) as expected
              from effects e join ledger_accounts a on a.id = e.account_id and a.balance_shards = 1
          )
          select id as transfer_id, account_id, balance_after::numeric, expected from running
           where balance_after is distinct from expected`,
  },
  {
    name: 'no wallet or earnings account was ever overdrawn (every recorded balance-after >= 0)',
    scope: 'transfers',
    sql: `select t.id as transfer_id, a.id as account_id, t.debit_balance_after::numeric as balance_after
            from ledger_transfers t
            join ledger_accounts a on a.id = t.debit_account_id and a.debits_must_not_exceed_credits
           where t.debit_balance_after < 0
           union all
          select t.id, a.id, t.credit_balance_after::numeric
            from ledger_transfers t
            join ledger_accounts a on a.id = t.credit_account_id and a.debits_must_not_exceed_credits
           where t.credit_balance_after < 0`,
  },
  {
    name: 'every transfer names existing accounts, and every post or void an existing hold',
    scope: 'transfers',
    sql: `select t.id from ledger_transfers t
           where not exists (select 1 from ledger_accounts a where a.id = t.debit_account_id)
              or not exists (select 1 from ledger_accounts a where a.id = t.credit_account_id)
              or (t.pending_id is not null
                  and not exists (select 1 from ledger_transfers p where p.id = t.pending_id))`,
  },
  {
    name: "every transfer's code is one of its kind",
    scope: 'transfers',
    sql: `select t.id, t.code, t.kind from ledger_transfers t
            left join ledger_transfer_codes c on c.code = t.code and c.kind = t.kind
           where c.code is null`,
  },
  {
    name: 'every statement line has a type and a status',
    scope: 'transfers',
    sql: `select id, account_id, type, status from transactions where type is null or status is null`,
  },
];

export async function auditLedger(conn: Conn): Promise<AuditReport> {
  const checks = await runChecks(conn, CHECKS);
  const { rows: counts } = await conn.raw<{ rows: { accounts: number; transfers: number }[] }>(
    'select (select count(*) from ledger_accounts)::int8 as accounts, (select count(*) from ledger_transfers)::int8 as transfers',
  );
  return {
    ok: checks.every((c) => c.ok),
    checks,
    accounts: counts[0]!.accounts,
    transfers: counts[0]!.transfers,
    mode: 'full',
  };
}

/** Runs each check (its SQL answers the offending rows) and keeps up to SAMPLE breaches of each. */
export async function runChecks(
  conn: Conn,
  checks: readonly { name: string; sql: string }[],
): Promise<AuditCheck[]> {
  const results: AuditCheck[] = [];
  for (const check of checks) {
    const { rows } = await conn.raw<{ rows: Record<string, unknown>[] }>(
      `select * from (${check.sql}) as breaches limit ${SAMPLE}`,
    );
    results.push({ name: check.name, ok: rows.length === 0, breaches: rows });
  }
  return results;
}

export function formatAuditReport(report: AuditReport): string {
  const { checkpoint } = report;
  const how =
    report.mode === 'full'
      ? 'full recomputation'
      : `incremental, ${checkpoint?.windowTransfers ?? 0} transfers since checkpoint ${checkpoint?.baseId ?? '-'}`;
  const lines = [`ledger audit (${how}): ${report.accounts} accounts, ${report.transfers} transfers`];
  for (const check of report.checks) {
    lines.push(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}`);
    for (const breach of check.breaches) lines.push(`       ${JSON.stringify(breach)}`);
  }
  if (checkpoint !== undefined) {
    lines.push(
      checkpoint.recordedId === null
        ? 'no checkpoint recorded'
        : `checkpoint ${checkpoint.recordedId} recorded`,
    );
  }
  lines.push(report.ok ? 'all invariants hold' : 'INVARIANTS BROKEN');
  return lines.join('\n');
}
