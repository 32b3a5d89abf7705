// npm run bench:ledger: how close the ledger comes to the database's floor.
//
// (a) raw single-row UPDATE transactions per second (a prepared statement, as
//     the ledger's are): the floor nothing can beat;
// (b) hold-then-post transfer pairs per second across many independent wallets;
// (c) the same when every transfer also credits one shared platform account.
// Prints b/a and c/b; the last line is one JSON object with every figure.
// (b) and (c) go through the LedgerBatcher, as the application does; the
// same workload with one transaction per transfer is reported beside them.
//
// The three workloads run interleaved for several rounds against one fresh
// database, so that noise from the shared machine hits them alike; medians
// are reported. Settings: BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS,
// BENCH_CLIENTS, BENCH_BATCHES_IN_FLIGHT, BENCH_VERBOSE (batch sizes).
//
// (d) the incremental audit (ledger/incremental-audit.ts): the time of one
// round over 10,000 new transfers when 10^5 and when 10^6 are already in the
// table, each size in a database of its own, the rounds of the two sizes
// interleaved; it must not grow with the table (the larger within 20%).
// BENCH_PARTS=throughput or =incremental runs one part; BENCH_AUDIT_ROUNDS,
// BENCH_AUDIT_SIZES (comma-separated), BENCH_AUDIT_WINDOW change (d).
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createDb, withConnection, type Db } from '../db/knex';
import { migrateToLatest } from '../db/migrate';
import { onServer, withDatabase } from '../db/provision';
import { createAccount, createUserAccount, ensureSystemAccounts, systemAccountId } from '../ledger/accounts';
import { auditLedger, formatAuditReport } from '../ledger/audit';
import { auditLedgerIncrementally } from '../ledger/incremental-audit';
import { LedgerBatcher } from '../ledger/batcher';
import { createTransfers } from '../ledger/transfers';
import type { TransferSpec } from '../ledger/types';
import { databaseServer, median, round3 } from './support';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Concurrent clients (requests in flight), shared by the three workloads. */
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 128);
const WALLETS_PER_WORKER = 4;
const BATCHES_IN_FLIGHT = process.env.BENCH_BATCHES_IN_FLIGHT
  ? Number(process.env.BENCH_BATCHES_IN_FLIGHT)
  : undefined;
const CURRENCY = 'usd';
const PARTS = (process.env.BENCH_PARTS ?? 'throughput,incremental').split(',');
const AUDIT_ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? 7);
const AUDIT_SIZES = (process.env.BENCH_AUDIT_SIZES ?? '100000,1000000').split(',').map(Number);
/** New transfers per measured incremental round (hold-then-post pairs through the batcher). */
const AUDIT_WINDOW = Number(process.env.BENCH_AUDIT_WINDOW ?? 10_000);
/** Rows per fill statement (one transaction each), and wallets the fill and the rounds spread over. */
const FILL_CHUNK = 100_000;
const AUDIT_WALLETS = 500;

type Workload = 'raw' | 'independent' | 'shared' | 'unbatched';

async function main(): Promise<void> {
  const { serverUrl, origin, stop } = await databaseServer('ledger');
  try {
    const throughput = PARTS.includes('throughput') ? await throughputBench(serverUrl) : undefined;
    const incremental = PARTS.includes('incremental') ? await incrementalAuditBench(serverUrl) : undefined;
    console.log(
      JSON.stringify({
        bench: 'ledger',
        database: origin,
        cpus: os.cpus().length,
        ...throughput,
        ...(incremental === undefined ? {} : { incrementalAudit: incremental }),
      }),
    );
  } finally {
    await stop();
  }
}

async function throughputBench(serverUrl: string): Promise<Record<string, unknown>> {
  const name = `bench_ledger_${Date.now()}`;
  await onServer(serverUrl, (client) => client.query(`create database ${name}`));
  const db = createDb(withDatabase(serverUrl, name), { poolMax: CONNECTIONS });
  try {
    await migrateToLatest(db);
    const setup = await prepare(db);
    const samples: Record<Workload, number[]> = { raw: [], independent: [], shared: [], unbatched: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const workload of ['raw', 'independent', 'shared', 'unbatched'] as const) {
        const perSecond = await run(db, setup, workload);
        samples[workload].push(perSecond);
        console.log(`round ${round} ${workload.padEnd(11)} ${perSecond.toFixed(0)}/s`);
      }
    }
    const auditStarted = performance.now();
    const report = await auditLedger(db);
    const auditSeconds = (performance.now() - auditStarted) / 1000;
    if (!report.ok) throw new Error(formatAuditReport(report));
    console.log(
      `audit of ${report.transfers} transfers: ${auditSeconds.toFixed(1)} s, every invariant holds`,
    );

    const a = median(samples.raw);
    const b = median(samples.independent);
    const c = median(samples.shared);
    const u = median(samples.unbatched);
    console.log(`(a) raw single-row update transactions/s       ${a.toFixed(0)}`);
    console.log(`(b) hold-then-post pairs/s, independent wallets ${b.toFixed(0)}`);
    console.log(`(c) hold-then-post pairs/s, shared platform     ${c.toFixed(0)}`);
    console.log(
      `    (b without group commit: one transaction per transfer ${u.toFixed(0)}/s, ${(u / a).toFixed(3)} of a)`,
    );
    console.log(`b/a = ${(b / a).toFixed(3)} (target >= 0.5)   c/b = ${(c / b).toFixed(3)} (target >= 0.8)`);
    return {
      connections: CONNECTIONS,
      clients: CLIENTS,
      batchesInFlight: BATCHES_IN_FLIGHT ?? 'default',
      rounds: ROUNDS,
      secondsPerRound: SECONDS,
      rawUpdatesPerSecond: Math.round(a),
      independentPairsPerSecond: Math.round(b),
      sharedPairsPerSecond: Math.round(c),
      unbatchedIndependentPairsPerSecond: Math.round(u),
      bOverA: round3(b / a),
      cOverB: round3(c / b),
      samples,
      auditOk: report.ok,
      auditSeconds: Math.round(auditSeconds * 10) / 10,
      transfers: report.transfers,
    };
  } finally {
    await db.destroy();
    await onServer(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
  }
}

/** A database holding `size` transfers, its wallets, and a checkpoint covering them all. */
interface AuditTable {
  size: number;
  name: string;
  db: Db;
  wallets: string[];
}

async function incrementalAuditBench(serverUrl: string): Promise<Record<string, unknown>> {
  const tables: AuditTable[] = [];
  try {
    for (const size of AUDIT_SIZES) {
      const name = `bench_audit_${size}_${Date.now()}`;
      await onServer(serverUrl, (client) => client.query(`create database ${name}`));
      const db = createDb(withDatabase(serverUrl, name), { poolMax: CONNECTIONS });
      tables.push({ size, name, db, wallets: [] });
      await migrateToLatest(db);
      await ensureSystemAccounts(db, CURRENCY);
      const table = tables.at(-1)!;
      table.wallets = await auditWallets(db);
      const filledStarted = performance.now();
      await fill(db, size);
      const base = await auditLedgerIncrementally(db);
      if (!base.ok) throw new Error(formatAuditReport(base));
      console.log(
        `(d) ${size} transfers in place (${((performance.now() - filledStarted) / 1000).toFixed(0)} s with their checkpoints)`,
      );
    }

    const samples: Record<string, number[]> = Object.fromEntries(AUDIT_SIZES.map((size) => [size, []]));
    for (let round = 1; round <= AUDIT_ROUNDS; round++) {
      for (const table of tables) {
        await writeWindow(table);
        const started = performance.now();
        const report = await auditLedgerIncrementally(table.db);
        const seconds = (performance.now() - started) / 1000;
        if (!report.ok) throw new Error(formatAuditReport(report));
        if (report.checkpoint?.windowTransfers !== AUDIT_WINDOW) {
          throw new Error(
            `the round read ${report.checkpoint?.windowTransfers} transfers, not ${AUDIT_WINDOW}`,
          );
        }
        samples[table.size]!.push(seconds);
        console.log(
          `round ${round} incremental audit, ${report.transfers} transfers: ${seconds.toFixed(3)} s`,
        );
      }
    }
    const medians = Object.fromEntries(AUDIT_SIZES.map((size) => [size, median(samples[size]!)]));
    const smallest = medians[Math.min(...AUDIT_SIZES)]!;
    const largest = medians[Math.max(...AUDIT_SIZES)]!;
    const ratio = largest / smallest;
    for (const size of AUDIT_SIZES) {
      console.log(
        `(d) incremental round over ${AUDIT_WINDOW} new transfers with ${size} in the table: ${medians[size]!.toFixed(3)} s`,
      );
    }
    console.log(`    largest/smallest = ${ratio.toFixed(3)} (target <= 1.2)`);
    return {
      windowTransfers: AUDIT_WINDOW,
      wallets: AUDIT_WALLETS,
      rounds: AUDIT_ROUNDS,
      medianSeconds: Object.fromEntries(AUDIT_SIZES.map((size) => [size, round3(medians[size]!)])),
      largestOverSmallest: round3(ratio),
      flatWithin20Percent: ratio <= 1.2,
      samples,
    };
  } finally {
    for (const table of tables) {
      await table.db.destroy();
      await onServer(serverUrl, (client) =>
        client.query(`drop database if exists ${table.name} with (force)`),
      );
    }
  }
}

async function auditWallets(db: Db): Promise<string[]> {
  await db.raw(
    `insert into users (id, email, password_hash, name, role)
     select id, id || '@bench.example', '-', 'bench', 'student'
       from (select gen_random_uuid() as id from generate_series(1, ?)) as u`,
    [AUDIT_WALLETS],
  );
  const users = await db('users').pluck<string[]>('id');
  const wallets: string[] = [];
  for (const userId of users) wallets.push(await createUserAccount(db, userId, 'wallet', CURRENCY));
  return wallets;
}

/**
 * About `size` transfers written by SQL in chunks (the ledger's own path would
 * take an hour for 10^6), shaped as the application's: per unit a deposit
 * from the outside world to a wallet, a hold from the wallet to escrow and its
 * post. Each carries the wallet's balance after it and the counters move to
 * match, so the audit finds every invariant holding. Each chunk is absorbed by
 * an incremental round, as the hourly rounds would have.
 */
async function fill(db: Db, size: number): Promise<void> {
  const external = systemAccountId('external', CURRENCY);
  const escrow = systemAccountId('escrow', CURRENCY);
  const first = await auditLedgerIncrementally(db);
  if (!first.ok) throw new Error(formatAuditReport(first));
  for (let done = 0; done < size; done += FILL_CHUNK) {
    const units = Math.ceil(Math.min(FILL_CHUNK, size - done) / 3);
    await db.raw(
      `with wallets as (
         select a.id, row_number() over (order by a.id) - 1 as idx,
                b.credits_posted - b.debits_posted - b.debits_pending as balance
           from ledger_accounts a join ledger_balances b on b.account_id = a.id
          where a.code = 'wallet'
       ),
       units as materialized (
         select g, w.id as wallet, gen_random_uuid() as deposit_id, gen_random_uuid() as hold_id,
                gen_random_uuid() as post_id,
                w.balance + 90 * row_number() over (partition by w.id order by g) as balance_after_unit
           from generate_series(1, ?::int) as g
           join wallets w on w.idx = g % (select count(*) from wallets)
       ),
       inserted as (
         insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, kind, pending_id, code,
                                       debit_balance_after, credit_balance_after)
         select id, debit, credit, amount, kind, pending_id, code, debit_after, credit_after
           from (select 3 * g as n, deposit_id as id, ?::uuid as debit, wallet as credit, 100 as amount,
                        'posted' as kind, null::uuid as pending_id, 'deposit' as code,
                        null::int8 as debit_after, balance_after_unit + 10 as credit_after
                   from units
                 union all
                 select 3 * g + 1, hold_id, wallet, ?::uuid, 10, 'pending', null, 'booking_hold',
                        balance_after_unit, null
                   from units
                 union all
                 select 3 * g + 2, post_id, wallet, ?::uuid, 10, 'post_pending', hold_id, 'booking_charge',
                        balance_after_unit, null
                   from units) as rows
          order by n
         returning 1
       ),
       wallet_rows as (
         update ledger_balances b
            set credits_posted = b.credits_posted + 100 * v.n, debits_posted = b.debits_posted + 10 * v.n
           from (select wallet, count(*) as n from units group by wallet) as v
          where b.account_id = v.wallet and b.shard = 0
         returning 1
       ),
       system_rows as (
         update ledger_balances b
            set debits_posted = b.debits_posted + v.debits, credits_posted = b.credits_posted + v.credits
           from (select account_id, shard, sum(debits) as debits, sum(credits) as credits
                   from (select ?::uuid as account_id, ledger_shard_of(u.deposit_id, a.balance_shards) as shard,
                                100 as debits, 0 as credits
                           from units u join ledger_accounts a on a.id = ?::uuid
                         union all
                         select ?::uuid, ledger_shard_of(u.hold_id, a.balance_shards), 0, 10
                           from units u join ledger_accounts a on a.id = ?::uuid) as effects
                  group by account_id, shard) as v
          where b.account_id = v.account_id and b.shard = v.shard
         returning 1
       )
       select (select count(*) from inserted) as inserted, (select count(*) from wallet_rows) as wallets,
              (select count(*) from system_rows) as shards`,
      [units, external, escrow, escrow, external, external, escrow, escrow],
    );
    const round = await auditLedgerIncrementally(db);
    if (!round.ok) throw new Error(formatAuditReport(round));
  }
  await db.raw('vacuum analyze ledger_transfers');
}

/** AUDIT_WINDOW new transfers through the ledger, as the application writes them: hold-then-post pairs, batched. */
async function writeWindow(table: AuditTable): Promise<void> {
  const batcher = new LedgerBatcher(table.db);
  const pairs = AUDIT_WINDOW / 2;
  const escrow = systemAccountId('escrow', CURRENCY);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < pairs) {
        const wallet = table.wallets[next++ % table.wallets.length]!;
        const holdId = randomUUID();
        const held = await batcher.submit([
          {
            id: holdId,
            kind: 'pending',
            debitAccountId: wallet,
            creditAccountId: escrow,
            amount: 1,
            code: 'booking_hold',
          },
        ]);
        const posted = await batcher.submit([
          { id: randomUUID(), kind: 'post_pending', pendingId: holdId, code: 'booking_charge' },
        ]);
        if (held.status !== 'created' || posted.status !== 'created') {
          throw new Error(`bench transfer refused: ${JSON.stringify([held, posted])}`);
        }
      }
    }),
  );
}

interface Setup {
  /** Per worker: its own wallets (no two workers touch one wallet) and the wallets they pay. */
  workers: { wallets: string[]; sinks: string[] }[];
  platform: string;
}

async function prepare(db: Db): Promise<Setup> {
  await db.raw('create table bench_counter (id int primary key, v bigint not null default 0)');
  await db.raw('insert into bench_counter (id) select generate_series(1, ?)', [CLIENTS * WALLETS_PER_WORKER]);

  const platform = systemAccountId('platform_revenue', CURRENCY);
  await createAccount(db, {
    id: platform,
    code: 'platform_revenue',
    userId: null,
    currency: CURRENCY,
    limit: 'none',
    shards: 32,
  });
  const external = systemAccountId('external', CURRENCY);
  await createAccount(db, {
    id: external,
    code: 'external',
    userId: null,
    currency: CURRENCY,
    limit: 'none',
    shards: 32,
  });

  const workers: Setup['workers'] = [];
  for (let w = 0; w < CLIENTS; w++) {
    const wallets: string[] = [];
    const sinks: string[] = [];
    for (let i = 0; i < WALLETS_PER_WORKER; i++) {
      wallets.push(await benchWallet(db));
      sinks.push(await benchWallet(db));
    }
    workers.push({ wallets, sinks });
  }
  // Fund every wallet generously in one pass.
  for (const { wallets } of workers) {
    for (const wallet of wallets) {
      await createTransfers(db, [
        {
          id: randomUUID(),
          kind: 'posted',
          debitAccountId: external,
          creditAccountId: wallet,
          amount: 1_000_000_000,
          code: 'deposit',
        },
      ]);
    }
  }
  return { workers, platform };
}

async function benchWallet(db: Db): Promise<string> {
  const userId = randomUUID();
  await db('users').insert({
    id: userId,
    email: `${userId}@bench.example`,
    password_hash: '-',
    name: 'bench',
    role: 'student',
  });
  return createUserAccount(db, userId, 'wallet', CURRENCY);
}

async function run(db: Db, setup: Setup, workload: Workload): Promise<number> {
  const batcher = new LedgerBatcher(db, { maxConcurrentBatches: BATCHES_IN_FLIGHT });
  const apply = (chain: TransferSpec[]) =>
    workload === 'unbatched' ? createTransfers(db, chain) : batcher.submit(chain);
  const deadline = Date.now() + SECONDS * 1000;
  const started = process.hrtime.bigint();
  const counts = await Promise.all(
    setup.workers.map(async ({ wallets, sinks }, w) => {
      let done = 0;
      for (let i = 0; Date.now() < deadline; i++) {
        const k = i % wallets.length;
        if (workload === 'raw') {
          await rawUpdate(db, w * WALLETS_PER_WORKER + k + 1);
        } else {
          const holdId = randomUUID();
          const creditAccountId = workload === 'shared' ? setup.platform : sinks[k]!;
          const held = await apply([
            {
              id: holdId,
              kind: 'pending',
              debitAccountId: wallets[k]!,
              creditAccountId,
              amount: 100,
              code: 'booking_hold',
            },
          ]);
          const posted = await apply([
            { id: randomUUID(), kind: 'post_pending', pendingId: holdId, code: 'booking_charge' },
          ]);
          if (held.status !== 'created' || posted.status !== 'created') {
            throw new Error(`bench transfer refused: ${JSON.stringify([held, posted])}`);
          }
        }
        done++;
      }
      return done;
    }),
  );
  if (process.env.BENCH_VERBOSE && workload !== 'raw' && workload !== 'unbatched') {
    const { batches, chains, lockedReruns, busyMs } = batcher.stats;
    console.log(
      `    ${batches} batches, ${(chains / batches).toFixed(1)} chains and ${(busyMs / batches).toFixed(2)} ms each, ${lockedReruns} locked reruns`,
    );
  }
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return counts.reduce((sum, n) => sum + n, 0) / elapsedSeconds;
}

/** The floor: one autocommitted single-row UPDATE, as a prepared statement (as the ledger's are). */
async function rawUpdate(db: Db, id: number): Promise<void> {
  await withConnection(db, (connection) =>
    connection.query({
      name: 'bench_raw_update',
      text: 'update bench_counter set v = v + 1 where id = $1',
      values: [id],
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
