// Applying transfers to the database. The rules live in engine.ts; this file
// is the locking protocol around them, inside one transaction:
//
//   1. advisory locks on every transfer id and pending id the batch names
//      (sorted), so that whoever else applies or resolves one of them waits:
//      the idempotency and "resolved once" checks below are then exact
//      (in optimistic mode they are left to the unique indexes: see ApplyMode);
//   2. read those transfers (with how each hold was resolved);
//   3. lock the balance rows the batch may write (sorted: no deadlocks) and
//      read the single-shard ones, whose limits are checked against them;
//   4. run the engine; 5. write the new transfers and counters in one statement.
//
// The database re-checks what it can on its own (CHECK constraints on the
// limits, a unique index on pending_id, append-only triggers): if the engine
// ever disagreed with them, the write fails and nothing is applied.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { withConnection, type Conn, type Trx } from '../db/knex';
import {
  applyBatch,
  assertWellFormed,
  shardOf,
  type AccountInfo,
  type BatchOutcome,
  type Counters,
  type StoredTransfer,
} from './engine';
import type { ChainResult, TransferKind, TransferSpec } from './types';

/** Upper bound of the chains one batch applies (and so of the rows one statement writes). */
export const MAX_CHAINS_PER_BATCH = 256;

/** Applies one chain, all or nothing, in the caller's transaction (or a new one). */
export async function createTransfers(conn: Conn, chain: readonly TransferSpec[]): Promise<ChainResult> {
  const [result] = await applyChains(conn, [chain]);
  return result!;
}

/**
 * Both modes first take advisory locks on every transfer id and pending id
 * the batch names, so no other writer can insert one of those ids or resolve
 * one of those holds concurrently. Then:
 * - `locked` reads every named id: exact, never has to run again;
 * - `optimistic` reads only the holds it resolves (looking up ids that are
 *   almost always new is the dearest read of a batch). A transfer committed
 *   earlier under one of its ids then shows up as a unique violation at
 *   insert, and any refusal might really be such a retry: both abort with
 *   WriteConflict, and the owner of the transaction runs the batch again
 *   `locked`. For the batcher, which owns its transactions.
 */
export type ApplyMode = 'locked' | 'optimistic';

/** The transaction must be rolled back and the batch run again in `locked` mode. */
export class WriteConflict extends Error {
  constructor(cause: unknown) {
    super('an optimistic ledger batch must run again with locks', { cause });
    this.name = 'WriteConflict';
  }
}

/** Applies independent chains in order, each all or nothing, in one transaction. */
export async function applyChains(
  conn: Conn,
  chains: readonly (readonly TransferSpec[])[],
  mode: ApplyMode = 'locked',
): Promise<ChainResult[]> {
  assert(
    chains.length >= 1 && chains.length <= MAX_CHAINS_PER_BATCH,
    `a batch holds 1..${MAX_CHAINS_PER_BATCH} chains`,
  );
  for (const chain of chains) assertWellFormed(chain);
  if (isTransaction(conn)) return (await applyInTransaction(conn, chains, mode, { owned: false })).results;
  const outcome = await conn.transaction((trx) => applyInTransaction(trx, chains, mode, { owned: true }));
  rememberCommitted(outcome);
  return outcome.results;
}

function isTransaction(conn: Conn): conn is Trx {
  return (conn as Partial<Trx>).isTransaction === true;
}

async function applyInTransaction(
  trx: Trx,
  chains: readonly (readonly TransferSpec[])[],
  mode: ApplyMode,
  options: { owned: boolean },
): Promise<BatchOutcome> {
  const specs = chains.flat();
  const pendingIds = specs.flatMap((t) =>
    t.kind === 'post_pending' || t.kind === 'void_pending' ? [t.pendingId] : [],
  );
  // Every writer takes these locks, whatever its mode, so no one else can
  // insert one of these ids or resolve one of these holds until we commit.
  const namedIds = [...new Set([...specs.map((t) => t.id), ...pendingIds])];
  await prepared(trx, 'ledger_lock_ids', 'select pg_advisory_xact_lock(k) from unnest($1::int8[]) as k', [
    sortedLockKeys(namedIds),
  ]);
  let transfers: Map<string, StoredTransfer>;
  if (mode === 'locked') {
    transfers = await readTransfers(trx, namedIds);
  } else {
    // Holds this process committed and nobody resolved here are known; a
    // resolution elsewhere shows up at insert (the unique index on pending_id).
    transfers = new Map<string, StoredTransfer>();
    const unknown: string[] = [];
    for (const id of new Set(pendingIds)) {
      const known = recentHolds.get(id);
      if (known === undefined) unknown.push(id);
      else transfers.set(id, known);
    }
    if (unknown.length > 0) for (const [id, t] of await readTransfers(trx, unknown)) transfers.set(id, t);
  }

  const accountIds = new Set<string>();
  for (const t of specs) {
    if (t.kind === 'posted' || t.kind === 'pending') {
      accountIds.add(t.debitAccountId);
      accountIds.add(t.creditAccountId);
    }
  }
  for (const t of transfers.values()) {
    accountIds.add(t.debitAccountId);
    accountIds.add(t.creditAccountId);
  }
  const accounts = await readAccounts(trx, [...accountIds], options.owned);

  const rowsToLock = balanceRowsTouched(specs, transfers, accounts);
  const balances = await lockBalances(trx, rowsToLock, accounts);

  const outcome = applyBatch({ accounts, balances, transfers }, chains);
  // Without reading its own ids, an optimistic run cannot tell a refusal
  // from a retry of a chain applied before (which must answer `exists`).
  if (mode === 'optimistic' && outcome.results.some((r) => r.status === 'refused')) {
    throw new WriteConflict('a chain was refused; only a locked run can say whether it exists');
  }
  if (outcome.rows.length > 0) {
    try {
      await write(trx, outcome);
    } catch (error) {
      const { code, constraint } = error as { code?: string; constraint?: string };
      if (mode === 'optimistic' && code === UNIQUE_VIOLATION && UNIQUE_TRANSFER_KEYS.has(constraint ?? '')) {
        throw new WriteConflict(error);
      }
      throw error;
    }
  }
  return outcome;
}

/**
 * Pending transfers this process created in transactions of its own, from
 * their commit until it resolves them: a hold is usually posted or voided by
 * the same process soon after, and transfers never change, so the optimistic
 * path need not read them back. Bounded; the oldest are forgotten first.
 */
const RECENT_HOLDS_LIMIT = 50_000;
const recentHolds = new Map<string, StoredTransfer>();

function rememberCommitted(outcome: BatchOutcome): void {
  for (const row of outcome.rows) {
    if (row.kind === 'pending') {
      recentHolds.set(row.id, { ...row, resolution: null });
      if (recentHolds.size > RECENT_HOLDS_LIMIT) recentHolds.delete(recentHolds.keys().next().value!);
    } else if (row.pendingId !== null) {
      recentHolds.delete(row.pendingId);
    }
  }
}

const UNIQUE_VIOLATION = '23505';
const UNIQUE_TRANSFER_KEYS = new Set(['ledger_transfers_pkey', 'ledger_transfers_pending_id_key']);
// Note: the protocol relies on READ COMMITTED (each statement sees what was
// committed before it began, in particular by the holder of a lock we waited
// for). Callers passing a transaction must not raise its isolation level.

/**
 * Runs one of the ledger's statements as a named prepared statement on the
 * transaction's own connection: Postgres parses and plans each once per
 * connection instead of once per batch, which is a good part of a batch's cost.
 */
async function prepared<Row>(trx: Trx, name: string, text: string, values: unknown[]): Promise<Row[]> {
  return withConnection(trx, async (connection) => {
    const result = await connection.query<Row & pg.QueryResultRow>({ name, text, values });
    return result.rows;
  });
}

/** Advisory lock keys: the first 64 bits of each UUID, sorted so that batches never deadlock. */
function sortedLockKeys(ids: string[]): string[] {
  const keys = [
    ...new Set(ids.map((id) => BigInt.asIntN(64, BigInt(`0x${id.replaceAll('-', '').slice(0, 16)}`)))),
  ];
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map(String);
}

interface TransferDbRow {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  kind: TransferKind;
  pending_id: string | null;
  code: string;
  reference_type: string | null;
  reference_id: string | null;
  description: string | null;
  resolution: 'post_pending' | 'void_pending' | null;
}

async function readTransfers(trx: Trx, ids: string[]): Promise<Map<string, StoredTransfer>> {
  const rows = await prepared<TransferDbRow>(
    trx,
    'ledger_read_transfers',
    // A join on unnest (not `id = any($1)`) keeps the generic plan of the
    // prepared statement on the primary key index.
    `select t.id, t.debit_account_id, t.credit_account_id, t.amount, t.kind, t.pending_id, t.code,
            t.reference_type, t.reference_id, t.description, r.kind as resolution
       from unnest($1::uuid[]) as k (id)
       join ledger_transfers t on t.id = k.id
       left join ledger_transfers r on r.pending_id = t.id`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        debitAccountId: r.debit_account_id,
        creditAccountId: r.credit_account_id,
        amount: r.amount,
        kind: r.kind,
        pendingId: r.pending_id,
        code: r.code,
        referenceType: r.reference_type,
        referenceId: r.reference_id,
        description: r.description,
        resolution: r.resolution,
      },
    ]),
  );
}

/**
 * Accounts never change once created, so their descriptions are cached for
 * the life of the process (bounded). An unknown id is never cached, so an
 * account created later is found; and only what a transaction of our own
 * read is cached: in a caller's transaction we might see an account it
 * created and then rolls back.
 */
const ACCOUNT_CACHE_LIMIT = 100_000;
const accountCache = new Map<string, AccountInfo>();

async function readAccounts(trx: Trx, ids: string[], cache: boolean): Promise<Map<string, AccountInfo>> {
  const found = new Map<string, AccountInfo>();
  const missing: string[] = [];
  for (const id of ids) {
    const cached = accountCache.get(id);
    if (cached) found.set(id, cached);
    else missing.push(id);
  }
  if (missing.length === 0) return found;
  const rows = await prepared<{
    id: string;
    currency: string;
    balance_shards: number;
    debits_must_not_exceed_credits: boolean;
    credits_must_not_exceed_debits: boolean;
  }>(
    trx,
    'ledger_read_accounts',
    `select id, currency, balance_shards, debits_must_not_exceed_credits, credits_must_not_exceed_debits
       from ledger_accounts where id = any ($1::uuid[])`,
    [missing],
  );
  if (cache && accountCache.size + rows.length > ACCOUNT_CACHE_LIMIT) accountCache.clear();
  for (const r of rows) {
    const info: AccountInfo = {
      id: r.id,
      currency: r.currency,
      shards: r.balance_shards,
      debitsMustNotExceedCredits: r.debits_must_not_exceed_credits,
      creditsMustNotExceedDebits: r.credits_must_not_exceed_debits,
    };
    if (cache) accountCache.set(r.id, info);
    found.set(r.id, info);
  }
  return found;
}

/** Every balance row the batch could write: shard 0 of single-shard accounts, the hashed shard of sharded ones. */
function balanceRowsTouched(
  specs: readonly TransferSpec[],
  transfers: ReadonlyMap<string, StoredTransfer>,
  accounts: ReadonlyMap<string, AccountInfo>,
): { accountId: string; shard: number }[] {
  const rows = new Map<string, { accountId: string; shard: number }>();
  const add = (accountId: string, shardKey: string) => {
    const account = accounts.get(accountId);
    if (account === undefined) return; // the engine refuses the chain
    const shard = shardOf(shardKey, account.shards);
    rows.set(`${accountId}:${shard}`, { accountId, shard });
  };
  for (const t of specs) {
    if (t.kind === 'post_pending' || t.kind === 'void_pending') {
      const pending = transfers.get(t.pendingId);
      if (pending !== undefined) {
        add(pending.debitAccountId, t.pendingId);
        add(pending.creditAccountId, t.pendingId);
      }
    } else {
      add(t.debitAccountId, t.id);
      add(t.creditAccountId, t.id);
    }
  }
  // A pending transfer created and resolved within this batch is not in
  // `transfers`; its rows are already covered by its own creation above.
  return [...rows.values()];
}

async function lockBalances(
  trx: Trx,
  rows: { accountId: string; shard: number }[],
  accounts: ReadonlyMap<string, AccountInfo>,
): Promise<Map<string, Counters>> {
  const balances = new Map<string, Counters>();
  if (rows.length === 0) return balances;
  const locked = await prepared<{
    account_id: string;
    shard: number;
    debits_pending: number;
    debits_posted: number;
    credits_pending: number;
    credits_posted: number;
  }>(
    trx,
    'ledger_lock_balances',
    `select b.account_id, b.shard, b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted
       from ledger_balances b
       join unnest($1::uuid[], $2::int2[]) as k (account_id, shard) on k.account_id = b.account_id and k.shard = b.shard
      order by b.account_id, b.shard
        for update of b`,
    [rows.map((r) => r.accountId), rows.map((r) => r.shard)],
  );
  assert.equal(locked.length, rows.length, 'a balance row is missing');
  for (const r of locked) {
    if (accounts.get(r.account_id)!.shards !== 1) continue;
    balances.set(r.account_id, {
      debitsPending: r.debits_pending,
      debitsPosted: r.debits_posted,
      creditsPending: r.credits_pending,
      creditsPosted: r.credits_posted,
    });
  }
  return balances;
}

async function write(trx: Trx, outcome: BatchOutcome): Promise<void> {
  const { rows } = outcome;
  const balanceRows = [
    ...[...outcome.balances].map(([accountId, c]) => ({ accountId, shard: 0, absolute: true, c })),
    ...[...outcome.shardDeltas.values()].map((e) => ({
      accountId: e.accountId,
      shard: e.shard,
      absolute: false,
      c: e.delta,
    })),
  ];
  const column = <T>(items: readonly T[], pick: (item: T) => string | number | boolean | null) =>
    items.map(pick);

  const counts = await prepared<{ inserted: number; updated: number }>(
    trx,
    'ledger_write',
    `with inserted as (
       insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, kind, pending_id, code,
                                     reference_type, reference_id, description, debit_balance_after, credit_balance_after)
       select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::text[], $6::uuid[], $7::text[],
                            $8::text[], $9::uuid[], $10::text[], $11::int8[], $12::int8[])
       returning 1
     ), updated as (
       update ledger_balances b
          set debits_pending = case when v.absolute then v.dp else b.debits_pending + v.dp end,
              debits_posted = case when v.absolute then v.dpo else b.debits_posted + v.dpo end,
              credits_pending = case when v.absolute then v.cp else b.credits_pending + v.cp end,
              credits_posted = case when v.absolute then v.cpo else b.credits_posted + v.cpo end
         from unnest($13::uuid[], $14::int2[], $15::bool[], $16::int8[], $17::int8[], $18::int8[], $19::int8[])
              as v (account_id, shard, absolute, dp, dpo, cp, cpo)
        where b.account_id = v.account_id and b.shard = v.shard
       returning 1
     )
     select (select count(*) from inserted)::int8 as inserted, (select count(*) from updated)::int8 as updated`,
    [
      column(rows, (r) => r.id),
      column(rows, (r) => r.debitAccountId),
      column(rows, (r) => r.creditAccountId),
      column(rows, (r) => r.amount),
      column(rows, (r) => r.kind),
      column(rows, (r) => r.pendingId),
      column(rows, (r) => r.code),
      column(rows, (r) => r.referenceType),
      column(rows, (r) => r.referenceId),
      column(rows, (r) => r.description),
      column(rows, (r) => r.debitBalanceAfter),
      column(rows, (r) => r.creditBalanceAfter),
      column(balanceRows, (b) => b.accountId),
      column(balanceRows, (b) => b.shard),
      column(balanceRows, (b) => b.absolute),
      column(balanceRows, (b) => b.c.debitsPending),
      column(balanceRows, (b) => b.c.debitsPosted),
      column(balanceRows, (b) => b.c.creditsPending),
      column(balanceRows, (b) => b.c.creditsPosted),
    ],
  );
  assert.equal(counts[0]!.inserted, rows.length, 'not every transfer was inserted');
  assert.equal(counts[0]!.updated, balanceRows.length, 'not every balance row was updated');
}
