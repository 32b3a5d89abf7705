// npm run bench:bookings: the booking path against its floors, in one run
// against one dev server (its own process, in memory) and one PostgreSQL.
//
// (r) the reference workload of bench:devserver (workflows with 2 activities,
//     a timer and a signal): workflows per second, the floor of a workflow;
// (p) POST /bookings at 32 connections beside bare client.workflow.start calls
//     of a parked workflow, interleaved rounds: bookings/s against starts/s,
//     with the booking's p50/p99 latency;
// (s) BENCH_BOOKINGS bookings through their whole lifecycle: booked over HTTP,
//     opened by their workflows, LiveKit webhooks (joins, leaves, room
//     finished) signed as LiveKit signs them, settled. The classes are one
//     minute long and all at one time, so the run waits for them; that wait
//     is the classes' own time, not the system's, and is left out: the rate
//     is bookings / (booking + opening + webhook + settling time);
// (f) the same lifecycle with Temporal taken out (the API's workflow gateway
//     starts and signals nothing; the workflow's database steps and email
//     deliveries are called directly, in its order), once (s)'s workflows
//     have ended: the booking's own work as this code does it, which no
//     workflow engine makes cheaper. From it, ceilings with both cores:
//     settled / reference if a booking's workflow cost one reference
//     workflow, POST / starts if its start cost a bare start (or nothing);
// then BENCH_FILL finished bookings are written (bookings, meetings, their
// ledger transfers through the LedgerBatcher, notifications, LiveKit events)
// and (s) runs again (after (f)'s 1,000 settled bookings: 1% of the fill);
// the audit runs last.
//
// Targets: (s) >= 0.4 x (r); (p) bookings/s >= 0.5 x starts/s; (s) with the
// filled tables within 20% of (s) on empty ones; audit clean. The last line
// printed is one JSON object with every figure.
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';
import { AccessToken } from 'livekit-server-sdk';
import pino from 'pino';
import { createActivities } from '../activities';
import { createNotificationActivities } from '../activities/notifications';
import { createApp } from '../api/app';
import { listen } from '../api/http-server';
import { bookingTransferIds } from '../bookings/ledger';
import { bookingPolicy } from '../bookings/policy';
import type { BookingPolicy } from '../domain/booking';
import { loadSettings, type Settings } from '../config/settings';
import { createDb, type Db } from '../db/knex';
import { migrateToLatest } from '../db/migrate';
import { onServer, withDatabase } from '../db/provision';
import { decideAtFinalisation, planRelease } from '../domain/settlement';
import { createUserAccount, ensureSystemAccounts, systemAccountId, userAccountId } from '../ledger/accounts';
import { auditLedger } from '../ledger/audit';
import type { TransferSpec } from '../ledger/types';
import { activityDeps, assemble, bookingDeps, withdrawalDeps } from '../platform/platform';
import { ensureSearchAttributes } from '../platform/search-attributes';
import { TokenService } from '../users/tokens';
import { EMAIL_ACTIVITY_SLOTS } from '../workers/worker';
import { emailTaskQueue } from '../workflows/shared';
import { goSignal, parked, shaped } from './devserver/workflows';
import {
  databaseServer,
  launchDevServer,
  machineBusyCpuSeconds,
  median,
  percentile,
  pool,
  round3,
} from './support';
import { settlementChain } from '../bookings/ledger';
import { finalisationFactsStep, openBookingStep, settleBookingStep } from '../bookings/steps';
import { BookingWorkflows } from '../bookings/workflow-gateway';
import { attendanceOf, identityOf, summarize } from '../domain/attendance';
import { deliverEmails } from '../notifications/delivery';

const BOOKINGS = Number(process.env.BENCH_BOOKINGS ?? 1000);
const REFERENCE_WORKFLOWS = Number(process.env.BENCH_REFERENCE ?? 1000);
const STARTS_PER_ROUND = Number(process.env.BENCH_STARTS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILL = Number(process.env.BENCH_FILL ?? 100_000);
const CONNECTIONS = 32;
/** Other processes' CPU, as a share of the system's own, under which the machine counts as quiet. */
const QUIET_OTHERS_SHARE = 0.1;
/** The cores the system under test can have at most (the ceilings of (f) give it all of them). */
const CORES = os.cpus().length;
const FILL_BATCH = 2_000;
const SEATS = 10;
const PRICE = 500;
const CURRENCY = 'usd';
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret';

Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
});

const silent = pino({ level: 'silent' });
const seconds = (ms: number) => Math.round(ms / 10) / 100;
const log = (line: string) => console.log(line);

interface Person {
  id: string;
  token: string;
}

// ---- HTTP: at most CONNECTIONS sockets, kept alive --------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

function post(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed (its keep-alive timeout) as this request went out on
      // it: sent again, on another socket (Node's documentation of reusedSocket). Bounded: each such
      // socket is destroyed, and a fresh one is never retried. Were the request taken after all, a
      // booking's second try is 409 already_booked and stops the run, and webhooks carry event ids.
      if (req.reusedSocket && error.code === 'ECONNRESET') {
        post(port, path, body, headers).then(resolve, reject);
      } else reject(error);
    });
    req.end(body);
  });
}

// ---- fixtures written straight to the database (not what is measured) ------------

async function people(
  db: Db,
  tokens: TokenService,
  role: 'student' | 'teacher',
  count: number,
  funds: number,
): Promise<Person[]> {
  const rows = Array.from({ length: count }, () => {
    const id = randomUUID();
    return {
      id,
      email: `${role}-${id}@bench.example`,
      password_hash: 'bench',
      name: `Bench ${role}`,
      role,
      referral_code: role === 'teacher' ? `B${id.slice(0, 10).toUpperCase()}` : null,
    };
  });
  for (let i = 0; i < rows.length; i += 1000) await db('users').insert(rows.slice(i, i + 1000));
  await pool(rows, 16, async (row) => {
    await createUserAccount(db, row.id, role === 'teacher' ? 'earnings' : 'wallet', CURRENCY);
  });
  if (funds > 0) {
    const chains: TransferSpec[][] = rows.map((row) => [
      {
        id: randomUUID(),
        kind: 'posted',
        debitAccountId: systemAccountId('external', CURRENCY),
        creditAccountId: userAccountId(row.id, 'wallet'),
        amount: funds,
        code: 'deposit',
      },
    ]);
    await submitAll(chains);
  }
  return Promise.all(
    rows.map(async (row) => ({ id: row.id, token: await tokens.sign({ userId: row.id, role }) })),
  );
}

let submitChain: (chain: TransferSpec[]) => Promise<unknown>;

async function submitAll(chains: TransferSpec[][]): Promise<void> {
  await pool(chains, 512, async (chain) => {
    const result = (await submitChain(chain)) as { status: string };
    if (result.status === 'refused') throw new Error(`fixture transfer refused: ${JSON.stringify(result)}`);
  });
}

async function meetings(
  db: Db,
  teacherId: string,
  count: number,
  startsAt: Date,
  capacity: number,
): Promise<{ id: string; startsAt: Date; endsAt: Date }[]> {
  const rows = Array.from({ length: count }, () => ({
    id: randomUUID(),
    teacher_id: teacherId,
    title: 'Bench class',
    starts_at: startsAt,
    ends_at: new Date(startsAt.getTime() + 60_000),
    price: PRICE,
    capacity,
  }));
  for (let i = 0; i < rows.length; i += 1000) await db('meetings').insert(rows.slice(i, i + 1000));
  return rows.map((r) => ({ id: r.id, startsAt: r.starts_at, endsAt: r.ends_at }));
}

// ---- LiveKit webhooks, signed as LiveKit signs them --------------------------------

async function webhook(port: number, event: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify(event);
  const token = new AccessToken('devkey', 'secret');
  token.sha256 = createHash('sha256').update(body).digest('base64');
  const response = await post(port, '/api/v1/webhooks/livekit', body, {
    'Content-Type': 'application/webhook+json',
    Authorization: await token.toJwt(),
  });
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${response.text}`);
}

function presence(kind: string, meetingId: string, userId: string, atMs: number) {
  return {
    event: kind,
    id: `EV_${randomUUID()}`,
    createdAt: String(Math.floor(atMs / 1000)),
    room: { name: `meeting-${meetingId}`, sid: 'RM_bench' },
    participant: { identity: `user-${userId}`, sid: `PA_${userId.slice(0, 12)}` },
  };
}

interface Seat {
  student: Person;
  meeting: { id: string; startsAt: Date; endsAt: Date };
}

/** Books every seat over HTTP, CONNECTIONS at a time; answers each booking's id with its seat. */
async function bookEach(port: number, seats: Seat[]): Promise<{ id: string; seat: Seat }[]> {
  const booked: { id: string; seat: Seat }[] = [];
  await pool(seats, CONNECTIONS, async (seat) => {
    const response = await post(port, '/api/v1/bookings', JSON.stringify({ meetingId: seat.meeting.id }), {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${seat.student.token}`,
    });
    if (response.status !== 201) throw new Error(`booking answered ${response.status}: ${response.text}`);
    booked.push({ id: (JSON.parse(response.text) as { id: string }).id, seat });
  });
  return booked;
}

/** The classes start: each teacher joins, then each student (LiveKit's webhooks, at the start). */
async function joinAll(port: number, teacherId: string, classes: Seat['meeting'][], seats: Seat[]) {
  await pool(classes, CONNECTIONS, (m) =>
    webhook(port, presence('participant_joined', m.id, teacherId, m.startsAt.getTime())),
  );
  await pool(seats, CONNECTIONS, ({ student, meeting }) =>
    webhook(port, presence('participant_joined', meeting.id, student.id, meeting.startsAt.getTime())),
  );
}

/** The classes end: each student leaves, then each teacher, then the room finishes (at the end). */
async function leaveAll(port: number, teacherId: string, classes: Seat['meeting'][], seats: Seat[]) {
  await pool(seats, CONNECTIONS, ({ student, meeting }) =>
    webhook(port, presence('participant_left', meeting.id, student.id, meeting.endsAt.getTime())),
  );
  await pool(classes, CONNECTIONS, async (m) => {
    await webhook(port, presence('participant_left', m.id, teacherId, m.endsAt.getTime()));
    await webhook(port, {
      event: 'room_finished',
      id: `EV_${randomUUID()}`,
      createdAt: String(Math.floor(m.endsAt.getTime() / 1000)),
      room: { name: `meeting-${m.id}`, sid: 'RM_bench' },
    });
  });
}

async function until(atMs: number): Promise<void> {
  const waitMs = atMs - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/**
 * Waits until none of this lifecycle's bookings (the ones ending at `endsAt`:
 * every class of a lifecycle ends at one time) is still in `waitingFor`, then
 * checks once that all of `ids` are where `where` says.
 *
 * The poll (every 100 ms) reads the in-flight bookings through the partial
 * index bookings_held_live_idx (held, confirmed or open), so it costs what is
 * still in flight, whatever else the table holds. It used to count `ids` by
 * primary key: a sequential scan of a few pages on empty tables, but 1,000
 * index probes (about 3 buffers each) a poll after the fill, which made the
 * benchmark's own driver the statement that grew most with the fill (about
 * 950 buffers and 10-25 ms a poll at 300 bookings; pg_stat_statements).
 */
async function untilNoneLeft(
  db: Db,
  what: string,
  endsAt: Date,
  waitingFor: 'confirmed' | 'confirmed or open',
  ids: string[],
  where: Record<string, string>,
): Promise<void> {
  const statuses = waitingFor === 'confirmed' ? ['confirmed'] : ['confirmed', 'open'];
  for (let i = 0; i < 12_000; i++) {
    const [row] = await db('bookings')
      .where({ settlement: 'held', ends_at: endsAt })
      .whereIn('status', ['confirmed', 'open'])
      .whereIn('status', statuses)
      .count({ n: '*' });
    if (Number(row!.n) === 0) {
      const [done] = await db('bookings').whereIn('id', ids).where(where).count({ n: '*' });
      if (Number(done!.n) !== ids.length)
        throw new Error(`waiting for ${what}: ${ids.length - Number(done!.n)} bookings ended elsewhere`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---- BENCH_PG_STATEMENTS=1: what each statement cost, from pg_stat_statements ---------

const PG_STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1' || Boolean(process.env.BENCH_PG_EXPLAIN);

interface StatementCost {
  query: string;
  /** Run by a client (false: inside another statement, a function or a foreign-key check). */
  toplevel: boolean;
  calls: number;
  rows: number;
  /** Shared buffers hit + read: the work a statement does, whatever the machine's load. */
  blocks: number;
  ms: number;
}

async function resetStatements(db: Db): Promise<void> {
  if (PG_STATEMENTS) await db.raw('select pg_stat_statements_reset()');
  if (process.env.BENCH_PG_EXPLAIN) await explainFor(db, 0);
}

/**
 * BENCH_PG_EXPLAIN=<dir>: auto_explain logs every statement's plan with its buffers
 * (into <dir>/postgresql.log) during the lifecycles only, not the fixtures or the fill.
 * Set with ALTER SYSTEM: a setting given on the server's command line could not be reloaded.
 */
async function explainFor(db: Db, minMs: number): Promise<void> {
  await db.raw(`alter system set auto_explain.log_min_duration = ${minMs}`);
  await db.raw('select pg_reload_conf()');
  await db.raw(`select pg_sleep(0.2)`);
}

/** Every statement run since the last reset (nested ones too: track = all), by query id. */
async function statementCosts(db: Db): Promise<Map<string, StatementCost>> {
  const out = new Map<string, StatementCost>();
  if (!PG_STATEMENTS) return out;
  const { rows } = await db.raw<{ rows: (StatementCost & { id: string })[] }>(
    `select queryid::text as id, toplevel, query, calls::float8 as calls, rows::float8 as rows,
            (shared_blks_hit + shared_blks_read)::float8 as blocks, total_exec_time as ms
       from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())`,
  );
  for (const r of rows) out.set(`${r.id}/${r.toplevel}`, r);
  return out;
}

/** The statements whose buffers per call grew most from the empty run to the filled one. */
function compareStatements(empty: Map<string, StatementCost>, filled: Map<string, StatementCost>): object[] {
  const per = (c: StatementCost | undefined, field: 'blocks' | 'rows' | 'ms') =>
    c && c.calls > 0 ? Math.round((c[field] / c.calls) * 100) / 100 : 0;
  return [...new Set([...empty.keys(), ...filled.keys()])]
    .map((key) => {
      const e = empty.get(key);
      const f = filled.get(key);
      return {
        query: (f ?? e)!.query.replace(/\s+/g, ' ').slice(0, 160),
        calls: [e?.calls ?? 0, f?.calls ?? 0],
        blocksPerCall: [per(e, 'blocks'), per(f, 'blocks')],
        rowsPerCall: [per(e, 'rows'), per(f, 'rows')],
        msPerCall: [per(e, 'ms'), per(f, 'ms')],
        extraBlocks: Math.round((f?.blocks ?? 0) - (e?.blocks ?? 0)),
      };
    })
    .sort((a, b) => b.extraBlocks - a.extraBlocks)
    .slice(0, 25);
}

// ---- the workloads -------------------------------------------------------------------

/** The workflow gateway of (f): nothing is started or signalled. */
class NoWorkflows extends BookingWorkflows {
  override async start(): Promise<void> {}
  override async signalAttendance(): Promise<'delivered'> {
    return 'delivered';
  }
}

/**
 * CPU seconds so far of what the system under test runs on: this process (API,
 * worker, bench driver), the dev server, PostgreSQL. Unlike the machine's CPU
 * it leaves out whatever else runs on the machine (other people's tests), so
 * it is the figure to compare across runs on a shared machine.
 */
interface CpuMeter {
  process(): number;
  devServer(): number;
  postgres(): number;
}

function cpuMark(meter: CpuMeter): { process: number; devServer: number; postgres: number } {
  return { process: meter.process(), devServer: meter.devServer(), postgres: meter.postgres() };
}

function cpuSince(meter: CpuMeter, mark: ReturnType<typeof cpuMark>) {
  const now = cpuMark(meter);
  return {
    process: now.process - mark.process,
    devServer: now.devServer - mark.devServer,
    postgres: now.postgres - mark.postgres,
  };
}

const ownTotal = (cpu: { process: number; devServer: number; postgres: number }) =>
  cpu.process + cpu.devServer + cpu.postgres;
const msEach = (cpuSeconds: number, count: number) => Math.round((cpuSeconds * 1000 * 10) / count) / 10;

async function reference(
  client: Client,
  taskQueue: string,
  meter: CpuMeter,
): Promise<{
  workflows: number;
  perSecond: number;
  machineCpuMsPerWorkflow: number;
  ownCpuMsPerWorkflow: number;
  coresBusy: number;
}> {
  const ids = Array.from({ length: REFERENCE_WORKFLOWS }, () => `reference-${randomUUID()}`);
  const own0 = cpuMark(meter);
  const cpu0 = machineBusyCpuSeconds();
  const t0 = performance.now();
  const results: Promise<unknown>[] = [];
  await pool(ids, 200, async (workflowId) => {
    const handle = await client.workflow.start(shaped, { taskQueue, workflowId, args: [100] });
    await handle.signal(goSignal);
    results.push(handle.result());
  });
  await Promise.all(results);
  const elapsed = performance.now() - t0;
  const cpu = machineBusyCpuSeconds() - cpu0;
  return {
    workflows: ids.length,
    perSecond: Math.round((ids.length / elapsed) * 1000 * 10) / 10,
    machineCpuMsPerWorkflow: Math.round((cpu * 1000 * 10) / ids.length) / 10,
    ownCpuMsPerWorkflow: msEach(ownTotal(cpuSince(meter, own0)), ids.length),
    coresBusy: Math.round((cpu / (elapsed / 1000)) * 100) / 100,
  };
}

/** pg_stat_statements after each lifecycle (BENCH_PG_STATEMENTS=1), by its label. */
const statements = new Map<string, Map<string, StatementCost>>();

interface Lifecycle {
  bookings: number;
  bookSeconds: number;
  openSeconds: number;
  joinSeconds: number;
  settleSeconds: number;
  busySeconds: number;
  settledPerSecond: number;
  settlePhasePerSecond: number;
  /** CPU of the whole machine (this process, the dev server, PostgreSQL) per booking, busy phases only. */
  machineCpuMsPerBooking: number;
  /** Of it, what the system under test used (this process, the dev server, PostgreSQL), and the rest of the machine (others' work). */
  cpuMsPerBooking: {
    own: number;
    benchProcess: number;
    devServer: number;
    postgres: number;
    otherProcesses: number;
  };
  coresBusy: number;
}

async function lifecycle(
  db: Db,
  tokens: TokenService,
  meter: CpuMeter,
  port: number,
  label: string,
  estimatedBookingsPerSecond: number,
): Promise<Lifecycle> {
  const [teacher] = await people(db, tokens, 'teacher', 1, 0);
  const students = await people(db, tokens, 'student', BOOKINGS, PRICE * 2);
  // Far enough ahead that every booking is made before the classes start.
  const leadMs = Math.max(20_000, (BOOKINGS / estimatedBookingsPerSecond) * 3_000 + 10_000);
  const startsAt = new Date(Math.ceil((Date.now() + leadMs) / 1000) * 1000);
  const classes = await meetings(db, teacher!.id, Math.ceil(BOOKINGS / SEATS), startsAt, SEATS);
  const seats = students.map((student, i) => ({ student, meeting: classes[Math.floor(i / SEATS)]! }));
  log(
    `(s) ${label}: ${BOOKINGS} bookings of ${classes.length} one-minute classes at ${startsAt.toISOString()}`,
  );

  let busyCpu = 0;
  const own = { process: 0, devServer: 0, postgres: 0 };
  let machineMark = machineBusyCpuSeconds();
  let ownMark = cpuMark(meter);
  const phaseEnded = () => {
    busyCpu += machineBusyCpuSeconds() - machineMark;
    const used = cpuSince(meter, ownMark);
    own.process += used.process;
    own.devServer += used.devServer;
    own.postgres += used.postgres;
  };
  const phaseStarts = () => {
    machineMark = machineBusyCpuSeconds();
    ownMark = cpuMark(meter);
  };
  await resetStatements(db);
  const t0 = performance.now();
  const bookingIds = (await bookEach(port, seats)).map((b) => b.id);
  const booked = performance.now();
  await untilNoneLeft(db, 'every class to open', classes[0]!.endsAt, 'confirmed', bookingIds, {
    status: 'open',
  });
  const opened = performance.now();
  phaseEnded();
  if (Date.now() >= startsAt.getTime())
    throw new Error('booking and opening took past the classes’ start: raise the lead time');

  await until(startsAt.getTime() + 1_000);
  phaseStarts();
  const t1 = performance.now();
  await joinAll(port, teacher!.id, classes, seats);
  const joined = performance.now();
  phaseEnded();

  await until(classes[0]!.endsAt.getTime() + 1_000);
  phaseStarts();
  const t2 = performance.now();
  await leaveAll(port, teacher!.id, classes, seats);
  await untilNoneLeft(db, 'every booking to settle', classes[0]!.endsAt, 'confirmed or open', bookingIds, {
    settlement: 'released',
  });
  const settled = performance.now();
  phaseEnded();
  if (process.env.BENCH_PG_EXPLAIN) await explainFor(db, -1);
  statements.set(label, await statementCosts(db));
  const perBooking = (cpuSeconds: number) => msEach(cpuSeconds, BOOKINGS);

  const result: Lifecycle = {
    bookings: BOOKINGS,
    bookSeconds: seconds(booked - t0),
    openSeconds: seconds(opened - booked),
    joinSeconds: seconds(joined - t1),
    settleSeconds: seconds(settled - t2),
    busySeconds: 0,
    settledPerSecond: 0,
    settlePhasePerSecond: Math.round((BOOKINGS / ((settled - t2) / 1000)) * 10) / 10,
    machineCpuMsPerBooking: perBooking(busyCpu),
    cpuMsPerBooking: {
      own: perBooking(ownTotal(own)),
      benchProcess: perBooking(own.process),
      devServer: perBooking(own.devServer),
      postgres: perBooking(own.postgres),
      otherProcesses: perBooking(busyCpu - ownTotal(own)),
    },
    coresBusy: 0,
  };
  result.busySeconds = round3(
    result.bookSeconds + result.openSeconds + result.joinSeconds + result.settleSeconds,
  );
  result.settledPerSecond = Math.round((BOOKINGS / result.busySeconds) * 10) / 10;
  result.coresBusy = Math.round((busyCpu / result.busySeconds) * 100) / 100;
  log(`(s) ${label}: ${JSON.stringify(result)}`);
  return result;
}

interface WithoutTemporal {
  bookings: number;
  seconds: number;
  /** Own CPU without the dev server (this process, PostgreSQL) per booking, and of it the POST's. */
  cpuMsPerBooking: number;
  /** Of cpuMsPerBooking, this process's and PostgreSQL's. */
  processCpuMsPerBooking: number;
  postgresCpuMsPerBooking: number;
  cpuMsPerPost: number;
  postsPerSecond: number;
  /** The dev server's, which has nothing of (f) to do (its own pollers and timers). */
  devServerCpuMsPerBooking: number;
  /** This process and PostgreSQL at rest just before (f), for scale: (f) does not subtract it. */
  idleCpuMsPerSecond: number;
}

/**
 * (f): each booking's whole lifecycle of API calls, steps and deliveries,
 * without Temporal, in the workflow's order. Starts once the other
 * lifecycles' workflows have all ended (their last deliveries and tasks must
 * not count here).
 */
async function withoutTemporal(
  db: Db,
  tokens: TokenService,
  meter: CpuMeter,
  client: Client,
  port: number,
  deps: ReturnType<typeof activityDeps>,
  policy: BookingPolicy,
): Promise<WithoutTemporal> {
  const [teacher] = await people(db, tokens, 'teacher', 1, 0);
  const students = await people(db, tokens, 'student', BOOKINGS, PRICE * 2);
  // Whole seconds, as LiveKit stamps its events; as in (s), ten seats a class.
  const startsAt = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
  const classes = await meetings(db, teacher!.id, Math.ceil(BOOKINGS / SEATS), startsAt, SEATS);
  const seats = students.map((student, i) => ({ student, meeting: classes[Math.floor(i / SEATS)]! }));
  await untilBookingWorkflowsRest(client);
  const idle0 = cpuMark(meter);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const idle = cpuSince(meter, idle0);

  const own0 = cpuMark(meter);
  const t0 = performance.now();
  const booked = await bookEach(port, seats);
  const postSeconds = (performance.now() - t0) / 1000;
  const posted = cpuSince(meter, own0);
  const deliver = async ({ id }: { id: string }) => {
    await deliverEmails(deps, id);
  };
  await pool(booked, CONNECTIONS, deliver); // the confirmation
  await pool(booked, CONNECTIONS, async ({ id }) => {
    await openBookingStep(deps, id);
  });
  await pool(booked, CONNECTIONS, deliver); // the class opening
  await joinAll(port, teacher!.id, classes, seats);
  await leaveAll(port, teacher!.id, classes, seats);
  await pool(booked, CONNECTIONS, async (booking) => {
    const { student, meeting } = booking.seat;
    const room = { meetingId: meeting.id, studentId: student.id, teacherId: teacher!.id };
    const facts = await finalisationFactsStep(db, room);
    if (facts.meetingCancelled !== undefined) throw new Error(`booking ${booking.id}: meeting cancelled`);
    const found = attendanceOf(
      facts.events,
      { student: identityOf(student.id), teacher: identityOf(teacher!.id) },
      { startMs: meeting.startsAt.getTime(), endMs: meeting.endsAt.getTime() },
    );
    const decision = decideAtFinalisation(found, policy.attendanceReleasePercent);
    if (decision.action !== 'release') throw new Error(`booking ${booking.id}: ${decision.outcome}`);
    const outcome = await settleBookingStep(deps, {
      bookingId: booking.id,
      plan: planRelease(PRICE, policy.teacherSharePercent, decision.outcome),
      attendance: {
        ...summarize(found),
        studentIntervals: found.studentIntervals,
        teacherIntervals: found.teacherIntervals,
        eventsDropped: false,
      },
    });
    if (outcome.settlement !== 'released')
      throw new Error(`booking ${booking.id} settled ${outcome.settlement}`);
    await deliver(booking); // the settlement
  });
  const elapsedMs = performance.now() - t0;
  const used = cpuSince(meter, own0);
  return {
    bookings: booked.length,
    seconds: seconds(elapsedMs),
    cpuMsPerBooking: msEach(used.process + used.postgres, booked.length),
    processCpuMsPerBooking: msEach(used.process, booked.length),
    postgresCpuMsPerBooking: msEach(used.postgres, booked.length),
    cpuMsPerPost: msEach(posted.process + posted.postgres, booked.length),
    postsPerSecond: Math.round(booked.length / postSeconds),
    devServerCpuMsPerBooking: msEach(used.devServer, booked.length),
    idleCpuMsPerSecond: Math.round(((idle.process + idle.postgres) * 1000) / 3),
  };
}

/** Until no booking workflow runs but (p)'s, parked until their classes a month ahead. */
async function untilBookingWorkflowsRest(client: Client): Promise<void> {
  const parkedBookings = STARTS_PER_ROUND * ROUNDS;
  const query = `WorkflowType = 'bookingWorkflow' AND ExecutionStatus = 'Running'`;
  for (let i = 0; i < 1_200; i++) {
    if ((await client.workflow.count(query)).count <= parkedBookings) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the booking workflows of (s) did not end');
}

interface PostRound {
  startsPerSecond: number;
  bookingsPerSecond: number;
  bookingsAnsweredPerSecond: number;
  cpuMsPerStart: number;
  cpuMsPerBooking: number;
  ownCpuMsPerStart: number;
  ownCpuMsPerBooking: number;
}

async function startsBesideBookings(
  db: Db,
  tokens: TokenService,
  port: number,
  client: Client,
  parkedQueue: string,
  meter: CpuMeter,
): Promise<{
  startsPerSecond: number;
  bookingsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  rounds: PostRound[];
}> {
  const [teacher] = await people(db, tokens, 'teacher', 1, 0);
  const students = await people(db, tokens, 'student', STARTS_PER_ROUND * ROUNDS, PRICE * 2);
  const far = new Date(Date.now() + 30 * 24 * 3_600_000);
  // One seat each, as a teacher's slots usually are: the bookings do not queue on one meeting's row.
  const classes = await meetings(db, teacher!.id, STARTS_PER_ROUND * ROUNDS, far, 1);
  const starts: number[] = [];
  const bookingsRates: number[] = [];
  const latencies: number[] = [];
  const rounds: PostRound[] = [];
  // Both sides are timed until their workflows are parked (first workflow task run, timer
  // started): the worker's share of a start is part of what a booking must beat, and a
  // side's tasks must not spill into the other's measurement.
  const parkedCount = async (type: string) =>
    (await client.workflow.count(`WorkflowType = '${type}' AND HistoryLength >= 5`)).count;
  const untilParked = async (type: string, target: number) => {
    for (let i = 0; i < 6_000 && (await parkedCount(type)) < target; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const parkedBefore = await parkedCount('parked');
  const bookedBefore = await parkedCount('bookingWorkflow');
  for (let round = 0; round < ROUNDS; round++) {
    const ids = Array.from({ length: STARTS_PER_ROUND }, () => `parked-${randomUUID()}`);
    const cpu0 = process.cpuUsage();
    const own0 = cpuMark(meter);
    const t0 = performance.now();
    await pool(ids, CONNECTIONS, async (workflowId) => {
      await client.workflow.start(parked, { taskQueue: parkedQueue, workflowId });
    });
    await untilParked('parked', parkedBefore + (round + 1) * STARTS_PER_ROUND);
    const startRate = STARTS_PER_ROUND / ((performance.now() - t0) / 1000);
    const startCpu = process.cpuUsage(cpu0);
    const startOwn = ownTotal(cpuSince(meter, own0));

    const mine = students.slice(round * STARTS_PER_ROUND, (round + 1) * STARTS_PER_ROUND);
    const cpu1 = process.cpuUsage();
    const own1 = cpuMark(meter);
    const t1 = performance.now();
    await pool(
      mine.map((student, i) => ({ student, meeting: classes[round * STARTS_PER_ROUND + i]! })),
      CONNECTIONS,
      async ({ student, meeting }) => {
        const sent = performance.now();
        const response = await post(port, '/api/v1/bookings', JSON.stringify({ meetingId: meeting.id }), {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${student.token}`,
        });
        latencies.push(performance.now() - sent);
        if (response.status !== 201) throw new Error(`booking answered ${response.status}: ${response.text}`);
      },
    );
    const answeredRate = STARTS_PER_ROUND / ((performance.now() - t1) / 1000);
    await untilParked('bookingWorkflow', bookedBefore + (round + 1) * STARTS_PER_ROUND);
    const bookingRate = STARTS_PER_ROUND / ((performance.now() - t1) / 1000);
    const bookingCpu = process.cpuUsage(cpu1);
    const bookingOwn = ownTotal(cpuSince(meter, own1));
    const msPerItem = (cpu: NodeJS.CpuUsage) =>
      Math.round((cpu.user + cpu.system) / 100 / STARTS_PER_ROUND) / 10;
    starts.push(startRate);
    bookingsRates.push(bookingRate);
    const figures: PostRound = {
      startsPerSecond: Math.round(startRate),
      bookingsPerSecond: Math.round(bookingRate),
      bookingsAnsweredPerSecond: Math.round(answeredRate),
      cpuMsPerStart: msPerItem(startCpu),
      cpuMsPerBooking: msPerItem(bookingCpu),
      ownCpuMsPerStart: msEach(startOwn, STARTS_PER_ROUND),
      ownCpuMsPerBooking: msEach(bookingOwn, STARTS_PER_ROUND),
    };
    rounds.push(figures);
    log(`(p) round ${round + 1}: ${JSON.stringify(figures)}`);
  }
  latencies.sort((a, b) => a - b);
  return {
    startsPerSecond: Math.round(median(starts)),
    bookingsPerSecond: Math.round(median(bookingsRates)),
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    rounds,
  };
}

/** FILL bookings finished long ago, written as settling writes them: rows, transfers, notifications, events. */
async function fill(
  db: Db,
  tokens: TokenService,
  settings: Settings,
): Promise<{ bookings: number; seconds: number }> {
  const t0 = performance.now();
  const [teacher] = await people(db, tokens, 'teacher', 1, 0);
  const students = await people(db, tokens, 'student', 1_000, 0);
  const perStudent = Math.ceil(FILL / students.length);
  await submitAll(
    students.map((s) => [
      {
        id: randomUUID(),
        kind: 'posted' as const,
        debitAccountId: systemAccountId('external', CURRENCY),
        creditAccountId: userAccountId(s.id, 'wallet'),
        amount: PRICE * perStudent,
        code: 'deposit' as const,
      },
    ]),
  );
  const past = new Date(Date.now() - 90 * 24 * 3_600_000);
  const classes = await meetings(db, teacher!.id, Math.ceil(FILL / SEATS), past, SEATS);
  const policy = JSON.stringify(bookingPolicy(settings, false));
  const plan = planRelease(PRICE, 30, 'attended');
  // 16 columns a row: 2,000 rows stay under PostgreSQL's 65,535 bind parameters.
  for (let start = 0; start < FILL; start += FILL_BATCH) {
    const batch = Array.from({ length: Math.min(FILL_BATCH, FILL - start) }, (_, k) => {
      const i = start + k;
      const meeting = classes[Math.floor(i / SEATS)]!;
      return {
        id: randomUUID(),
        meeting_id: meeting.id,
        student_id: students[i % students.length]!.id,
        teacher_id: teacher!.id,
        price: PRICE,
        starts_at: meeting.startsAt,
        ends_at: meeting.endsAt,
        status: 'completed',
        settlement: 'released',
        outcome: 'attended',
        policy,
        attendance: JSON.stringify({
          seconds: 3600,
          percent: 100,
          teacherSeconds: 3600,
          studentIntervals: [],
          teacherIntervals: [],
          eventsDropped: false,
        }),
        refunded_amount: 0,
        teacher_amount: plan.amounts.teacher,
        platform_amount: plan.amounts.platform,
        workflow_started: true,
      };
    });
    await db('bookings').insert(batch);
    await submitAll(
      batch.map((b) => [
        {
          id: bookingTransferIds(b.id).hold,
          kind: 'pending' as const,
          debitAccountId: userAccountId(b.student_id, 'wallet'),
          creditAccountId: systemAccountId('escrow', CURRENCY),
          amount: PRICE,
          code: 'booking_hold' as const,
          reference: { type: 'booking' as const, id: b.id },
        },
        ...settlementChain({ id: b.id, teacherId: b.teacher_id }, plan, CURRENCY),
      ]),
    );
    const ids = batch.map((b) => b.id);
    // As a settled booking leaves them: mailed by its workflow (source_id) and sent. (They
    // used to be left pending with no source, 300,000 entries in the partial index of
    // emails due, notifications_email_due_idx, that nothing ever mails.)
    await db.raw(
      `insert into notifications (user_id, event_key, type, payload, source_id, email_status, email_attempts, email_sent_at)
       select b.student_id, k.type || ':' || b.id, k.type, jsonb_build_object('bookingId', b.id),
              b.id, 'sent', 1, b.ends_at
         from bookings b cross join (values ('booking_confirmed'), ('class_opening'), ('booking_refunded')) as k (type)
        where b.id = any (?::uuid[])`,
      [ids],
    );
    await db.raw(
      `insert into livekit_events (id, event, room_name, identity, participant_sid, occurred_at)
       select 'EV_fill_' || b.id || '_' || k.n, k.event, 'meeting-' || b.meeting_id, 'user-' || b.student_id, 'PA_fill', b.starts_at
         from bookings b cross join (values (1, 'participant_joined'), (2, 'participant_left')) as k (n, event)
        where b.id = any (?::uuid[])`,
      [ids],
    );
    if ((start + batch.length) % 20_000 === 0 || start + batch.length === FILL)
      log(`fill: ${start + batch.length} / ${FILL}`);
  }
  await db.raw('analyze');
  return { bookings: FILL, seconds: seconds(performance.now() - t0) };
}

async function main(): Promise<void> {
  const pg = await databaseServer('bookings');
  const name = `bench_bookings_${Date.now()}`;
  await onServer(pg.serverUrl, (client) => client.query(`create database ${name}`));
  const databaseUrl = withDatabase(pg.serverUrl, name);
  const db = createDb(databaseUrl, { poolMax: 30 });
  const server = await launchDevServer();
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const workers: { worker: Worker; running: Promise<void> }[] = [];
  try {
    await migrateToLatest(db);
    await ensureSystemAccounts(db, CURRENCY);
    if (PG_STATEMENTS) await db.raw('create extension if not exists pg_stat_statements');
    await ensureSearchAttributes(connection, 'default');
    const settings = loadSettings({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      CURRENCY,
      JWT_SECRET,
      TEMPORAL_TASK_QUEUE: 'bench-bookings',
      DATABASE_POOL_MAX: '30',
    });
    const client = new Client({ connection });
    const platform = assemble({
      settings,
      logger: silent,
      db,
      databaseUrl,
      databaseOrigin: pg.origin,
      client,
      connection,
    });
    submitChain = (chain) => platform.ledger.submit(chain);
    const tokens = new TokenService(JWT_SECRET, 60 * 24);
    const app = createApp({
      settings,
      db,
      ledger: platform.ledger,
      tokens,
      logger: silent,
      bookings: bookingDeps(platform),
      withdrawals: withdrawalDeps(platform),
      stripe: platform.stripe,
    });
    const api = await listen(app, 0, '127.0.0.1');
    // (f)'s API: the same, but its bookings start and signal no workflow.
    const bareApp = createApp({
      settings,
      db,
      ledger: platform.ledger,
      tokens,
      logger: silent,
      bookings: {
        ...bookingDeps(platform),
        workflows: new NoWorkflows(client, settings.TEMPORAL_TASK_QUEUE, false),
      },
      withdrawals: withdrawalDeps(platform),
      stripe: platform.stripe,
    });
    const bareApi = await listen(bareApp, 0, '127.0.0.1');
    const workerOptions = {
      maxConcurrentWorkflowTaskExecutions: 100,
      maxConcurrentActivityTaskExecutions: 200,
      maxCachedWorkflows: 5_000,
    };
    const bookingWorker = await Worker.create({
      connection: native,
      taskQueue: settings.TEMPORAL_TASK_QUEUE,
      workflowsPath: require.resolve('../workflows'),
      activities: createActivities(activityDeps(platform)),
      ...workerOptions,
    });
    const emailWorker = await Worker.create({
      connection: native,
      taskQueue: emailTaskQueue(settings.TEMPORAL_TASK_QUEUE),
      activities: createNotificationActivities(activityDeps(platform)),
      maxConcurrentActivityTaskExecutions: EMAIL_ACTIVITY_SLOTS,
    });
    const referenceQueue = 'bench-reference';
    const referenceWorker = await Worker.create({
      connection: native,
      taskQueue: referenceQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: path.join(__dirname, 'devserver', 'workflows.ts'),
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      }),
      activities: { step: async (n: string) => n },
      ...workerOptions,
    });
    for (const worker of [bookingWorker, emailWorker, referenceWorker])
      workers.push({ worker, running: worker.run() });

    const meter: CpuMeter = {
      process: () => {
        const used = process.cpuUsage();
        return (used.user + used.system) / 1e6;
      },
      devServer: () => server.cpuSeconds(),
      postgres: () => pg.cpuSeconds(),
    };
    const r = await reference(client, referenceQueue, meter);
    log(`(r) ${JSON.stringify(r)}`);
    const cpu0 = process.cpuUsage();
    const serverCpu0 = server.cpuSeconds();
    const p = await startsBesideBookings(db, tokens, api.port, client, referenceQueue, meter);
    const cpu = process.cpuUsage(cpu0);
    log(`(p) ${JSON.stringify(p)}`);
    log(
      `(p) CPU: this process ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, dev server ${(server.cpuSeconds() - serverCpu0).toFixed(1)} s`,
    );
    if (process.env.BENCH_ONLY_POST === '1') return;
    const sEmpty = await lifecycle(db, tokens, meter, api.port, 'empty tables', p.bookingsPerSecond);
    // On the tables (s) had, before the fill: the ceilings pair (f) with (r) and that (s).
    const policy = bookingPolicy(settings, false);
    const f = await withoutTemporal(db, tokens, meter, client, bareApi.port, activityDeps(platform), policy);
    log(`(f) without Temporal: ${JSON.stringify(f)}`);
    const startCpuMs = median(p.rounds.map((round) => round.ownCpuMsPerStart));
    // BENCH_FILL=0 (a quick or profiled run): no fill, and (s) is not run a second time.
    const filled = FILL > 0 ? await fill(db, tokens, settings) : { bookings: 0, seconds: 0 };
    if (FILL > 0) log(`fill: ${JSON.stringify(filled)}`);
    const sFull =
      FILL > 0
        ? await lifecycle(db, tokens, meter, api.port, `with ${FILL} finished bookings`, p.bookingsPerSecond)
        : null;

    if (PG_STATEMENTS && FILL > 0) {
      const growth = compareStatements(
        statements.get('empty tables')!,
        statements.get(`with ${FILL} finished bookings`)!,
      );
      const totals = (m: Map<string, StatementCost>) => {
        const top = [...m.values()].filter((c) => c.toplevel);
        const sum = (f: 'blocks' | 'ms' | 'calls') => top.reduce((a, c) => a + c[f], 0);
        return {
          callsPerBooking: Math.round((sum('calls') / BOOKINGS) * 10) / 10,
          blocksPerBooking: Math.round(sum('blocks') / BOOKINGS),
          execMsPerBooking: Math.round((sum('ms') / BOOKINGS) * 100) / 100,
        };
      };
      log(
        `statements (top level), empty: ${JSON.stringify(totals(statements.get('empty tables')!))}, filled: ${JSON.stringify(totals(statements.get(`with ${FILL} finished bookings`)!))}`,
      );
      log('statements, [empty, filled], by extra buffers:');
      for (const g of growth) log(JSON.stringify(g));
    }

    // Others' load slows the reference and the starts as much as the bookings, but
    // not evenly: ratios and ceilings (which divide by their rates) compare only
    // between runs where the system under test had the machine to itself.
    const othersShare = Math.max(
      (r.machineCpuMsPerWorkflow - r.ownCpuMsPerWorkflow) / r.ownCpuMsPerWorkflow,
      ...[sEmpty, sFull].map((s) => (s ? s.cpuMsPerBooking.otherProcesses / s.cpuMsPerBooking.own : 0)),
    );
    const quiet = othersShare < QUIET_OTHERS_SHARE;
    if (!quiet) {
      log(
        `the machine was busy: other processes used ${Math.round(othersShare * 100)}% as much CPU as this system (quiet: under ${QUIET_OTHERS_SHARE * 100}%); ratios and ceilings are not comparable with a quiet run's`,
      );
    }
    const auditStarted = performance.now();
    const audit = await auditLedger(db);
    const summary = {
      bench: 'bookings',
      machine: { cpus: os.cpus().length, node: process.version, quiet, othersShare: round3(othersShare) },
      database: pg.origin,
      reference: r,
      postBookings: p,
      lifecycleEmpty: sEmpty,
      withoutTemporal: f,
      fill: filled,
      lifecycleFilled: sFull,
      ratios: {
        settledOverReference: round3(sEmpty.settledPerSecond / r.perSecond),
        postOverStarts: round3(p.bookingsPerSecond / p.startsPerSecond),
        // null: not filled (BENCH_FILL=0), nothing to compare.
        filledOverEmptySettlePhase: sFull && round3(sFull.settlePhasePerSecond / sEmpty.settlePhasePerSecond),
        filledOverEmptyLifecycle: sFull && round3(sFull.settledPerSecond / sEmpty.settledPerSecond),
        /** A booking's whole-machine CPU over a reference workflow's: with the cores full, the best settled/reference can be is its inverse. */
        bookingCpuOverReferenceCpu: round3(sEmpty.machineCpuMsPerBooking / r.machineCpuMsPerWorkflow),
        /** The same with the system's own CPU (this process, dev server, PostgreSQL): others' load on the machine left out. */
        bookingOwnCpuOverReferenceOwnCpu: round3(sEmpty.cpuMsPerBooking.own / r.ownCpuMsPerWorkflow),
        /**
         * (f): settled / reference if a booking's workflow cost one reference workflow of own
         * CPU and the bookings had both cores to themselves (their work (f) being what it is).
         */
        settledOverReferenceCeiling: round3(
          (CORES * 1000) / (r.ownCpuMsPerWorkflow + f.cpuMsPerBooking) / r.perSecond,
        ),
        /** (f): POST / starts if a booking's start cost a bare start and the bookings had both cores. */
        postOverStartsCeiling: round3((CORES * 1000) / (startCpuMs + f.cpuMsPerPost) / p.startsPerSecond),
        /** The same with the start free: a POST's own work alone. */
        postOverStartsCeilingFreeStart: round3((CORES * 1000) / f.cpuMsPerPost / p.startsPerSecond),
      },
      targets: {
        settledOverReferenceAtLeast: 0.4,
        postOverStartsAtLeast: 0.5,
        filledWithin: 0.2,
      },
      audit: { ok: audit.ok, transfers: audit.transfers, seconds: seconds(performance.now() - auditStarted) },
      serverCpuSeconds: server.cpuSeconds(),
      serverPeakRssMb: server.peakRssMb(),
    };
    await api.close(1_000);
    await bareApi.close(1_000);
    console.log(JSON.stringify(summary));
  } finally {
    for (const { worker } of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all(workers.map((w) => w.running));
    await connection.close();
    await native.close();
    await server.stop();
    await db.destroy();
    await pg.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
