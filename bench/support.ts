// What the benchmarks share: a PostgreSQL server (DATABASE_URL, or an embedded
// one at default durability), the dev server as its own process (as the SDK
// runs it) with its CPU and memory readings, bounded concurrency, statistics.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../db/embedded-postgres';
import { readPostmasterPid } from '../db/postmaster-pid';

const DEVSERVER_EXECUTABLE = path.resolve(__dirname, '../devserver/bin/temporal-devserver');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** DATABASE_URL's server, or an embedded PostgreSQL with default durability (fsync on): the numbers must be honest. */
export async function databaseServer(label: string): Promise<{
  serverUrl: string;
  origin: string;
  /** CPU seconds the embedded server (postmaster and backends) has used; NaN for DATABASE_URL's. */
  cpuSeconds: () => number;
  stop: () => Promise<void>;
}> {
  const configured = process.env.DATABASE_URL;
  if (configured)
    return {
      serverUrl: configured,
      origin: 'DATABASE_URL',
      cpuSeconds: () => NaN,
      stop: async () => undefined,
    };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${label}-pg-`));
  fs.chmodSync(dir, 0o755);
  // A port of its own: two benchmarks at once must not meet in one server.
  const port = await freePort();
  const pgServer = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port,
    // BENCH_PG_STATEMENTS=1: pg_stat_statements loaded (it ships with the embedded binaries), for
    // per-statement buffers and rows that do not depend on the machine's load.
    settings: {
      max_connections: '200',
      ...(process.env.BENCH_PG_STATEMENTS === '1'
        ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' }
        : {}),
      ...(process.env.BENCH_PG_EXPLAIN
        ? {
            shared_preload_libraries: 'pg_stat_statements,auto_explain',
            'pg_stat_statements.track': 'all',
            'auto_explain.log_analyze': 'on',
            'auto_explain.log_buffers': 'on',
            'auto_explain.log_timing': 'off',
            'auto_explain.log_nested_statements': 'on',
            logging_collector: 'on',
            log_directory: process.env.BENCH_PG_EXPLAIN,
            log_filename: 'postgresql.log',
          }
        : {}),
    },
  }).catch((error: unknown) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const postmaster = readPostmasterPid(path.join(dir, 'pg'));
  return {
    serverUrl: pgServer.url,
    origin: 'embedded PostgreSQL 15 (fsync on)',
    cpuSeconds: () => (postmaster === undefined ? NaN : processTreeCpuSeconds(postmaster.pid)),
    stop: async () => {
      await pgServer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface DevServerProcess {
  child: ChildProcess;
  address: string;
  /** Peak resident set size of the server process so far, in MiB (VmHWM). */
  peakRssMb(): number;
  rssMb(): number;
  /** CPU seconds (user + system) the server process has used. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function procStatusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Starts the dev server (`start-dev`, in memory unless `dbFile`) as its own process. */
export async function launchDevServer(dbFile?: string): Promise<DevServerProcess> {
  const port = await freePort();
  const args = ['server', 'start-dev', '--port', String(port), '--headless', '--log-level', 'error'];
  if (dbFile) args.push('--db-filename', dbFile);
  // BENCH_SERVER_NODE_ARGS (e.g. --cpu-prof) runs the server under node with those flags, for profiling.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean);
  const child = nodeArgs
    ? spawn(process.execPath, [...nodeArgs, DEVSERVER_EXECUTABLE, ...args], {
        stdio: ['ignore', 'inherit', 'inherit'],
      })
    : spawn(DEVSERVER_EXECUTABLE, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const address = `127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    address,
    peakRssMb: () => procStatusMb(child.pid!, 'VmHWM'),
    rssMb: () => procStatusMb(child.pid!, 'VmRSS'),
    cpuSeconds: () => {
      const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Math.round(((Number(fields[11]) + Number(fields[12])) / 100) * 100) / 100;
    },
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(runners);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * CPU seconds the whole machine has spent busy so far (every process, every
 * core: /proc/stat), to tell what a workload cost when several processes
 * (this one, the dev server, PostgreSQL) share two cores.
 */
export function machineBusyCpuSeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

/** utime, stime, cutime, cstime of a process (clock ticks), from /proc; zeros once it is gone. */
function procTimes(pid: number): { ppid: number; own: number; children: number } {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return {
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      children: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return { ppid: -1, own: 0, children: 0 };
  }
}

/**
 * CPU seconds of a process and its children: its own time, the time of its
 * children that ended (reaped: PostgreSQL backends of closed connections) and
 * of those still running (the backends, the checkpointer, the WAL writer).
 */
export function processTreeCpuSeconds(rootPid: number): number {
  const root = procTimes(rootPid);
  let ticks = root.own + root.children;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procTimes(Number(entry));
    if (child.ppid === rootPid) ticks += child.own;
  }
  return ticks / 100;
}
