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
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createDb, withConnection, type Db } from '../db/knex';
import { migrateToLatest } from '../db/migrate';
import { onServer, withDatabase } from '../db/provision';
import { createAccount, createUserAccount, systemAccountId } from '../ledger/accounts';
import { auditLedger, formatAuditReport } from '../ledger/audit';
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

type Workload = 'raw' | 'independent' | 'shared' | 'unbatched';

async function main(): Promise<void> {
  const { serverUrl, origin, stop } = await databaseServer('ledger', 54391);
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
    console.log(
      JSON.stringify({
        bench: 'ledger',
        database: origin,
        cpus: os.cpus().length,
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
      }),
    );
  } finally {
    await db.destroy();
    await onServer(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
    await stop();
  }
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
