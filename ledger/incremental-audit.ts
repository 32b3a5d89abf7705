// The incremental ledger audit: what the maintenance workflow runs every
// round, and `npm run ledger:audit` by default. A full recomputation reads
// every transfer (107 s for half a million); this reads the transfers
// committed since the last checkpoint, so a round costs what was written since,
// plus one pass over the balance rows, however long the books grow.
//
// A checkpoint (migrations/*_ledger_audit_checkpoints.ts) is a database
// snapshot with the per-(account, shard) totals of the four counters over
// every transfer visible in it. A round, in one REPEATABLE READ transaction
// (its snapshot S):
//
//   1. checks the latest checkpoint k against the one before it: k's totals
//      must be k-1's plus the transfers k saw and k-1 did not (per account and
//      shard), and its transfer counts must add up; a checkpoint changed
//      behind the audit, or derived wrongly, shows here;
//   2. takes the window: the transfers visible in S whose transaction k's
//      snapshot does not see. Commit order, not seq order: a transfer with a
//      lower seq that committed after k was taken is in this window, and none
//      is in two windows. A post or void of a hold taken earlier is a transfer
//      of its own, so the hold's move from pending to posted (or released) is
//      in the window with it;
//   3. checks every balance row (in S) against k's totals plus the window's
//      effects, the balance-row invariants (debits = credits, limits, shard
//      rows) as the full audit does, and each transfer of the window as the full
//      audit checks every transfer (holds resolved once and matching, currency,
//      balance-after running on from k, never overdrawn, references, codes,
//      statement lines);
//   4. when everything holds, records checkpoint k+1 (snapshot S, k's totals
//      plus the window) and forgets the totals of checkpoints before k.
//
// Writers are never blocked: S is an ordinary snapshot, and balance rows and
// transfers are written in one transaction, so S sees both or neither. With no
// checkpoint yet (or `--full`) the full audit runs in the snapshot instead and
// records a base checkpoint from the balance rows it has just verified.
import type { Conn, Db } from '../db/knex';
import { auditLedger, CHECKS, runChecks, type AuditCheck, type AuditReport } from './audit';

interface Checkpoint {
  id: number;
  previous_id: number | null;
  kind: 'full' | 'incremental';
  snapshot: string;
  /** The snapshot's xmin: every transaction below it had ended when it was taken. */
  xmin: string;
  transfers: number;
  window_transfers: number;
}

const CHECKPOINT_COLUMNS = `id, previous_id, kind, snapshot::text as snapshot, pg_snapshot_xmin(snapshot)::text as xmin,
  transfers, window_transfers`;

/** Names of the checks the incremental audit adds to the full audit's. */
export const CHAIN_CHECK = 'the latest checkpoint equals the one before it plus the transfers between them';

/** The full audit's name for "every balance equals the sum of its transfers" (here: the checkpoint plus the window). */
const BALANCES_CHECK = CHECKS.find((c) => c.name.startsWith('every account balance'))!.name;

/** Audits from the latest checkpoint on (the full audit when there is none) and records the next checkpoint. */
export async function auditLedgerIncrementally(conn: Conn): Promise<AuditReport> {
  return inSnapshot(conn, async (trx) => {
    const base = await latestCheckpoint(trx);
    if (base === undefined) return fullAuditWithCheckpoint(trx);
    return incrementalAudit(trx, base);
  });
}

/** The full recomputation (`npm run ledger:audit -- --full`); when everything holds it records a base checkpoint. */
export async function auditLedgerFully(conn: Conn): Promise<AuditReport> {
  return inSnapshot(conn, fullAuditWithCheckpoint);
}

/**
 * Runs `fn` in one REPEATABLE READ transaction, so that every query sees the
 * same snapshot (the one the checkpoint records). Inside a transaction the
 * caller owns (tests, which roll theirs back), runs in it as it is.
 */
async function inSnapshot(conn: Conn, fn: (trx: Conn) => Promise<AuditReport>): Promise<AuditReport> {
  if ((conn as Partial<{ isTransaction: boolean }>).isTransaction === true) return fn(conn);
  try {
    return await (conn as Db).transaction(async (trx) => {
      await trx.raw('set transaction isolation level repeatable read');
      return fn(trx);
    });
  } catch (error) {
    if (error instanceof CheckpointRace) return error.report;
    throw error;
  }
}

/** Another audit recorded the next checkpoint first: this one's findings stand, its checkpoint is dropped. */
class CheckpointRace extends Error {
  constructor(readonly report: AuditReport) {
    super('another audit recorded the next checkpoint first');
  }
}

async function latestCheckpoint(trx: Conn): Promise<Checkpoint | undefined> {
  // The snapshot is taken by this first query: the checkpoint is read in it.
  const { rows } = await trx.raw<{ rows: Checkpoint[] }>(
    `select ${CHECKPOINT_COLUMNS} from ledger_audit_checkpoints order by id desc limit 1`,
  );
  return rows[0];
}

async function checkpointById(trx: Conn, id: number): Promise<Checkpoint | undefined> {
  const { rows } = await trx.raw<{ rows: Checkpoint[] }>(
    `select ${CHECKPOINT_COLUMNS} from ledger_audit_checkpoints where id = ?`,
    [id],
  );
  return rows[0];
}

async function fullAuditWithCheckpoint(trx: Conn): Promise<AuditReport> {
  const previous = await latestCheckpoint(trx);
  const report = await auditLedger(trx);
  let windowTransfers = report.transfers;
  if (previous !== undefined) {
    const { rows } = await trx.raw<{ rows: { n: number }[] }>(
      `select count(*)::int8 as n from ledger_transfers t where ${newSince('t')}`,
      newSinceBindings(previous),
    );
    windowTransfers = rows[0]!.n;
  }
  const summary = { baseId: null, windowTransfers, recordedId: null };
  if (!report.ok) return { ...report, checkpoint: summary };
  // Verified just now against every transfer: the balance rows are the totals.
  const recordedId = await recordCheckpoint(trx, {
    previous,
    kind: 'full',
    transfers: report.transfers,
    windowTransfers,
    totalsSql: `select account_id, shard, debits_pending, debits_posted, credits_pending, credits_posted
                  from ledger_balances`,
    report: { ...report, checkpoint: summary },
  });
  return { ...report, checkpoint: { ...summary, recordedId } };
}

async function incrementalAudit(trx: Conn, base: Checkpoint): Promise<AuditReport> {
  const checks: AuditCheck[] = [];
  checks.push(await checkChain(trx, base));

  await createWindow(trx, 'audit_window', newSince('t'), newSinceBindings(base));
  await trx.raw(`create temp table audit_expected on commit drop as ${plus(base.id, 'audit_window')}`);
  const { rows: sizes } = await trx.raw<{ rows: { window: number; accounts: number }[] }>(
    `select (select count(*) from audit_window)::int8 as window,
            (select count(*) from ledger_accounts)::int8 as accounts`,
  );
  const windowTransfers = sizes[0]!.window;

  const windowChecks = transferChecks(base.id);
  const ordered = CHECKS.map((check) =>
    check.scope === 'balances' ? check : windowChecks.find((c) => c.name === check.name)!,
  );
  checks.push(...(await runChecks(trx, ordered)));

  const report: AuditReport = {
    ok: checks.every((c) => c.ok),
    checks,
    accounts: sizes[0]!.accounts,
    transfers: base.transfers + windowTransfers,
    mode: 'incremental',
    checkpoint: { baseId: base.id, windowTransfers, recordedId: null },
  };
  let recordedId: number | null = null;
  if (report.ok) {
    // The balance rows were just found equal to these totals.
    recordedId = await recordCheckpoint(trx, {
      previous: base,
      kind: 'incremental',
      transfers: report.transfers,
      windowTransfers,
      totalsSql: 'select account_id, shard, dp, dpo, cp, cpo from audit_expected',
      report,
    });
  }
  await trx.raw('drop table audit_window, audit_window_effects, audit_expected');
  return { ...report, checkpoint: { ...report.checkpoint!, recordedId } };
}

/**
 * Checkpoint k against k-1: k-1's totals plus the transfers k saw and k-1 did
 * not must be k's totals, row by row, and the counts must add up. A full
 * checkpoint was verified against every transfer when it was taken: it is a
 * base of its own.
 */
async function checkChain(trx: Conn, checkpoint: Checkpoint): Promise<AuditCheck> {
  const ok = (): AuditCheck => ({ name: CHAIN_CHECK, ok: true, breaches: [] });
  if (checkpoint.kind === 'full') return ok();
  const previous = await checkpointById(trx, checkpoint.previous_id!);
  if (previous === undefined) {
    return { name: CHAIN_CHECK, ok: false, breaches: [{ checkpoint: checkpoint.id, previous: 'missing' }] };
  }
  await createWindow(
    trx,
    'audit_chain',
    `${newSince('t')} and pg_visible_in_snapshot(t.xid, ?::pg_snapshot)`,
    [...newSinceBindings(previous), checkpoint.snapshot],
  );
  const [check] = await runChecks(trx, [
    {
      name: CHAIN_CHECK,
      sql: `select ${checkpoint.id} as checkpoint, count_mismatch.*, null::uuid as account_id, null::int2 as shard,
                   null::numeric as dp, null::numeric as dpo, null::numeric as cp, null::numeric as cpo,
                   null::numeric as derived_dp, null::numeric as derived_dpo, null::numeric as derived_cp, null::numeric as derived_cpo
              from (select (select count(*) from audit_chain)::int8 as window_transfers,
                           ${previous.transfers}::int8 + (select count(*) from audit_chain) as derived_transfers) as count_mismatch
             where count_mismatch.window_transfers <> ${checkpoint.window_transfers}
                or count_mismatch.derived_transfers <> ${checkpoint.transfers}
            union all
            select ${checkpoint.id}, null, null, coalesce(k.account_id, d.account_id), coalesce(k.shard, d.shard),
                   k.debits_pending, k.debits_posted, k.credits_pending, k.credits_posted,
                   d.dp, d.dpo, d.cp, d.cpo
              from (select * from ledger_audit_checkpoint_balances where checkpoint_id = ${checkpoint.id}) k
              full join (${plus(previous.id, 'audit_chain')}) d on d.account_id = k.account_id and d.shard = k.shard
             where (coalesce(k.debits_pending, 0), coalesce(k.debits_posted, 0),
                    coalesce(k.credits_pending, 0), coalesce(k.credits_posted, 0))
                   is distinct from (coalesce(d.dp, 0), coalesce(d.dpo, 0), coalesce(d.cp, 0), coalesce(d.cpo, 0))`,
    },
  ]);
  await trx.raw('drop table audit_chain, audit_chain_effects');
  return check!;
}

/** SQL: the transfers (as `alias`) committed after a checkpoint was taken (bindings: newSinceBindings). */
function newSince(alias: string): string {
  return `${alias}.xid >= ?::xid8 and not pg_visible_in_snapshot(${alias}.xid, ?::pg_snapshot)`;
}

function newSinceBindings(checkpoint: Checkpoint): string[] {
  return [checkpoint.xmin, checkpoint.snapshot];
}

/**
 * Two temp tables: `name` (the transfers matching `filter`, with their
 * hold's amount) and `name_effects` (per side: the balance row it writes and
 * its effect on the four counters and on the owner's balance). A hold adds to
 * the pending counters; its post or void takes the hold back out of them and
 * adds what it posts: summed over any set of transfers, that is what the
 * ledger's counters did.
 */
async function createWindow(trx: Conn, name: string, filter: string, bindings: string[]): Promise<void> {
  await trx.raw(
    `create temp table ${name} on commit drop as
       select t.seq, t.id, t.kind, t.amount, t.pending_id, t.code, t.debit_account_id, t.credit_account_id,
              t.debit_balance_after, t.credit_balance_after, p.amount as pending_amount,
              p.kind as pending_kind, p.debit_account_id as pending_debit_account_id,
              p.credit_account_id as pending_credit_account_id,
              coalesce(t.pending_id, t.id) as shard_key
         from ledger_transfers t
         left join ledger_transfers p on p.id = t.pending_id
        where ${filter}`,
    bindings,
  );
  await trx.raw(`
    create temp table ${name}_effects on commit drop as
    with sides as (
      select w.seq, w.id, w.debit_account_id as account_id, w.shard_key,
             case w.kind when 'pending' then w.amount when 'posted' then 0 else -w.pending_amount end as dp,
             case when w.kind in ('posted', 'post_pending') then w.amount else 0 end as dpo,
             0::int8 as cp, 0::int8 as cpo,
             case w.kind when 'posted' then -w.amount when 'pending' then -w.amount
                         when 'post_pending' then w.pending_amount - w.amount else w.pending_amount end as balance_delta,
             w.debit_balance_after as balance_after
        from ${name} w
      union all
      select w.seq, w.id, w.credit_account_id, w.shard_key,
             0, 0,
             case w.kind when 'pending' then w.amount when 'posted' then 0 else -w.pending_amount end,
             case when w.kind in ('posted', 'post_pending') then w.amount else 0 end,
             case when w.kind in ('posted', 'post_pending') then w.amount else 0 end,
             w.credit_balance_after
        from ${name} w
    )
    select s.*, ledger_shard_of(s.shard_key, a.balance_shards) as shard, a.balance_shards,
           a.debits_must_not_exceed_credits
      from sides s join ledger_accounts a on a.id = s.account_id`);
  // Its size, for the plans of the checks that join it to the ledger's tables.
  await trx.raw(`analyze ${name}`);
}

/** SQL: checkpoint `checkpointId`'s totals plus the effects in `window`_effects, per (account, shard). */
function plus(checkpointId: number, window: string): string {
  return `select account_id, shard, sum(dp) as dp, sum(dpo) as dpo, sum(cp) as cp, sum(cpo) as cpo
            from (select account_id, shard, debits_pending as dp, debits_posted as dpo,
                         credits_pending as cp, credits_posted as cpo
                    from ledger_audit_checkpoint_balances where checkpoint_id = ${Number(checkpointId)}
                  union all
                  select account_id, shard, dp, dpo, cp, cpo from ${window}_effects) as totals
           group by account_id, shard`;
}

/** The full audit's transfer checks, over the window (audit_window, audit_expected) and from checkpoint `baseId`. */
function transferChecks(baseId: number): { name: string; sql: string }[] {
  const named = (prefix: string) => CHECKS.find((c) => c.name.startsWith(prefix))!.name;
  return [
    {
      name: BALANCES_CHECK,
      sql: `select coalesce(b.account_id, e.account_id) as account_id, coalesce(b.shard, e.shard) as shard,
                   b.debits_pending::numeric as dp, b.debits_posted::numeric as dpo,
                   b.credits_pending::numeric as cp, b.credits_posted::numeric as cpo,
                   e.dp as expected_dp, e.dpo as expected_dpo, e.cp as expected_cp, e.cpo as expected_cpo
              from ledger_balances b
              full join audit_expected e on e.account_id = b.account_id and e.shard = b.shard
             where (coalesce(b.debits_pending, 0), coalesce(b.debits_posted, 0),
                    coalesce(b.credits_pending, 0), coalesce(b.credits_posted, 0))
                   is distinct from (coalesce(e.dp, 0), coalesce(e.dpo, 0), coalesce(e.cp, 0), coalesce(e.cpo, 0))`,
    },
    {
      name: named('each hold is resolved at most once'),
      sql: `select t.pending_id, count(*) as resolutions from ledger_transfers t
             where t.pending_id in (select pending_id from audit_window where pending_id is not null)
             group by t.pending_id having count(*) > 1`,
    },
    {
      name: named('each post or void matches'),
      // The hold was read with the window.
      sql: `select r.id, r.kind, r.amount, r.pending_id, r.pending_kind, r.pending_amount
              from audit_window r
             where r.pending_amount is not null
               and (r.pending_kind <> 'pending'
                    or r.debit_account_id <> r.pending_debit_account_id
                    or r.credit_account_id <> r.pending_credit_account_id
                    or (r.kind = 'post_pending' and (r.amount <= 0 or r.amount > r.pending_amount))
                    or (r.kind = 'void_pending' and r.amount <> r.pending_amount))`,
    },
    {
      name: named('both sides of every transfer'),
      sql: `select t.id, d.currency as debit_currency, c.currency as credit_currency
              from audit_window t
              join ledger_accounts d on d.id = t.debit_account_id
              join ledger_accounts c on c.id = t.credit_account_id
             where d.currency <> c.currency`,
    },
    {
      // Runs on from the checkpoint's balance: per account, seq order is commit
      // order (a single-shard account's row is locked until its transaction ends).
      name: named('recorded balance-after'),
      sql: `with base as (
              select account_id, credits_posted - debits_posted - debits_pending as balance
                from ledger_audit_checkpoint_balances where checkpoint_id = ${Number(baseId)} and shard = 0
            ),
            running as (
              select e.id, e.account_id, e.balance_after,
                     coalesce(base.balance, 0)
                       + sum(e.balance_delta) over (partition by e.account_id order by e.seq) as expected
                from audit_window_effects e left join base on base.account_id = e.account_id
               where e.balance_shards = 1
            )
            select id as transfer_id, account_id, balance_after::numeric, expected from running
             where balance_after is distinct from expected`,
    },
    {
      name: named('no wallet or earnings account was ever overdrawn'),
      sql: `select e.id as transfer_id, e.account_id, e.balance_after::numeric as balance_after
              from audit_window_effects e
             where e.debits_must_not_exceed_credits and e.balance_after < 0`,
    },
    {
      name: named('every transfer names existing accounts'),
      sql: `select t.id from audit_window t
             where not exists (select 1 from ledger_accounts a where a.id = t.debit_account_id)
                or not exists (select 1 from ledger_accounts a where a.id = t.credit_account_id)
                or (t.pending_id is not null and t.pending_amount is null)`,
    },
    {
      name: named("every transfer's code"),
      sql: `select t.id, t.code, t.kind from audit_window t
              left join ledger_transfer_codes c on c.code = t.code and c.kind = t.kind
             where c.code is null`,
    },
    {
      // The window's own lines, and those of the holds it resolved (their status changed).
      name: named('every statement line'),
      // The lines of the window's transfers and of the holds it resolved, as
      // the transactions view makes them: a line's type is its transfer's
      // code's; a hold's line is pending until resolved and then takes the
      // status its resolution's code names (the only status that can be
      // missing); every other line is completed. Read from the window and the
      // codes alone: through the view the planner may scan every line.
      sql: `select coalesce(w.pending_id, w.id) as id, w.debit_account_id as account_id, code.line_type as type,
                   case when w.pending_id is not null then code.resolved_status
                        when w.kind = 'pending' then 'pending' else 'completed' end as status
              from audit_window w
              join ledger_transfer_codes code on code.code = w.code
             where code.line_type is null or (w.pending_id is not null and code.resolved_status is null)`,
    },
  ];
}

/**
 * Records the next checkpoint (snapshot: this transaction's) with the totals
 * `totalsSql` answers, then forgets the totals of checkpoints before
 * `previous` (the next round reads only its base and the one before).
 */
async function recordCheckpoint(
  trx: Conn,
  options: {
    previous: Checkpoint | undefined;
    kind: 'full' | 'incremental';
    transfers: number;
    windowTransfers: number;
    totalsSql: string;
    report: AuditReport;
  },
): Promise<number> {
  let id: number;
  try {
    const { rows } = await trx.raw<{ rows: { id: number }[] }>(
      `insert into ledger_audit_checkpoints (previous_id, kind, snapshot, transfers, window_transfers)
       values (?, ?, pg_current_snapshot(), ?, ?) returning id`,
      [options.previous?.id ?? null, options.kind, options.transfers, options.windowTransfers],
    );
    id = rows[0]!.id;
  } catch (error) {
    throw raceOr(error, options.report);
  }
  await trx.raw(
    `insert into ledger_audit_checkpoint_balances
       (checkpoint_id, account_id, shard, debits_pending, debits_posted, credits_pending, credits_posted)
     select ?, account_id, shard, debits_pending, debits_posted, credits_pending, credits_posted
       from (${options.totalsSql}) as totals (account_id, shard, debits_pending, debits_posted, credits_pending, credits_posted)
      where (debits_pending, debits_posted, credits_pending, credits_posted) <> (0, 0, 0, 0)`,
    [id],
  );
  if (options.previous !== undefined) {
    try {
      await trx.raw('delete from ledger_audit_checkpoint_balances where checkpoint_id < ?', [
        options.previous.id,
      ]);
    } catch (error) {
      throw raceOr(error, options.report);
    }
  }
  return id;
}

/** A unique violation on the chain, or a serialization failure: another audit got there first. */
function raceOr(error: unknown, report: AuditReport): unknown {
  const code = (error as { code?: string }).code;
  if (code === '23505' || code === '40001') {
    return new CheckpointRace({ ...report, checkpoint: { ...report.checkpoint!, recordedId: null } });
  }
  return error;
}
