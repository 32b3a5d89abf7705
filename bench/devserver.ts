// npm run bench:devserver — throughput, latency and memory of the dev server, with the
// real SDK worker and client, the server running as its own process (as the SDK runs it).
//  (a) 1,000 workflows (2 activities, a timer, a signal each) started at once, in memory
//      and with --db-filename: completions/s, p50/p99 start-to-close, peak server RSS.
//  (b) 10,000 workflows parked on a one-day timer: time to start them, time until all
//      are parked, server RSS.
// CPU seconds of the server process and of this process (worker + client) are reported
// too: on a 2-core machine the SDK worker, not the server, sets the pace.
// The last line printed is one JSON object holding every figure.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';
import { shaped, parked, goSignal } from './devserver/workflows';
import { launchDevServer as launch, percentile, pool } from './support';

const SHAPED_COUNT = Number(process.env.BENCH_SHAPED ?? 1000);
const PARKED_COUNT = Number(process.env.BENCH_PARKED ?? 10_000);
const TIMER_MS = 100;
// Bounds how many client calls are in flight at once.
const CLIENT_CONCURRENCY = 200;

Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
});

async function connect(
  address: string,
): Promise<{ client: Client; connection: Connection; native: NativeConnection }> {
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  return { client: new Client({ connection }), connection, native };
}

const bundle = bundleWorkflowCode({
  workflowsPath: path.join(__dirname, 'devserver', 'workflows.ts'),
  logger: {
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  },
});

async function makeWorker(native: NativeConnection, taskQueue: string): Promise<Worker> {
  return Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: await bundle,
    activities: { step: async (name: string) => name },
    maxConcurrentWorkflowTaskExecutions: 100,
    maxConcurrentActivityTaskExecutions: 200,
    maxCachedWorkflows: 2000,
    ...(process.env.BENCH_WORKER_OPTIONS ? (JSON.parse(process.env.BENCH_WORKER_OPTIONS) as object) : {}),
  });
}

interface ShapedResult {
  serverCpuSeconds: number;
  serverCpuMsPerWorkflow: number;
  benchProcessCpuSeconds: number;
  workflows: number;
  seconds: number;
  completionsPerSecond: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  peakServerRssMb: number;
}

async function runShaped(label: string, dbFile?: string): Promise<ShapedResult> {
  const server = await launch(dbFile);
  const { client, connection, native } = await connect(server.address);
  const taskQueue = `bench-${label}`;
  const worker = await makeWorker(native, taskQueue);
  const ids = Array.from({ length: SHAPED_COUNT }, (_, i) => `${label}-${i}`);
  const cpu0 = process.cpuUsage();
  const serverCpu0 = server.cpuSeconds();
  const t0 = Date.now();
  const done = worker.runUntil(async () => {
    const results: Promise<unknown>[] = [];
    await pool(ids, CLIENT_CONCURRENCY, async (workflowId) => {
      const h = await client.workflow.start(shaped, { taskQueue, workflowId, args: [TIMER_MS] });
      await h.signal(goSignal);
      results.push(h.result());
    });
    await Promise.all(results);
  });
  await done;
  const seconds = (Date.now() - t0) / 1000;
  const latencies: number[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = 'shaped'` })) {
    if (w.closeTime) latencies.push(w.closeTime.getTime() - w.startTime.getTime());
  }
  latencies.sort((a, b) => a - b);
  const peak = server.peakRssMb();
  const serverCpuSeconds = Math.round((server.cpuSeconds() - serverCpu0) * 100) / 100;
  const cpu = process.cpuUsage(cpu0);
  await connection.close();
  await native.close();
  await server.stop();
  const r = {
    serverCpuSeconds,
    serverCpuMsPerWorkflow: Math.round((serverCpuSeconds * 1000 * 100) / Math.max(1, latencies.length)) / 100,
    benchProcessCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    workflows: latencies.length,
    seconds: Math.round(seconds * 100) / 100,
    completionsPerSecond: Math.round(latencies.length / seconds),
    p50LatencyMs: percentile(latencies, 50),
    p99LatencyMs: percentile(latencies, 99),
    peakServerRssMb: peak,
  };
  console.log(`(a) ${label}: ${JSON.stringify(r)}`);
  return r;
}

async function runParked(): Promise<{
  workflows: number;
  startSeconds: number;
  parkedSeconds: number;
  serverRssMb: number;
  peakServerRssMb: number;
}> {
  const server = await launch();
  const { client, connection, native } = await connect(server.address);
  const taskQueue = 'bench-parked';
  const worker = await makeWorker(native, taskQueue);
  const ids = Array.from({ length: PARKED_COUNT }, (_, i) => `parked-${i}`);
  const t0 = Date.now();
  let startSeconds = 0;
  let parkedSeconds = 0;
  await worker.runUntil(async () => {
    await pool(ids, CLIENT_CONCURRENCY, async (workflowId) => {
      await client.workflow.start(parked, { taskQueue, workflowId });
    });
    startSeconds = (Date.now() - t0) / 1000;
    // Parked = the first workflow task ran and the timer is started (5 events).
    for (let i = 0; i < 1200; i++) {
      const { count } = await client.workflow.count(`WorkflowType = 'parked' AND HistoryLength >= 5`);
      if (count >= PARKED_COUNT) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    parkedSeconds = (Date.now() - t0) / 1000;
  });
  const rss = server.rssMb();
  const peak = server.peakRssMb();
  await connection.close();
  await native.close();
  await server.stop();
  const r = {
    workflows: PARKED_COUNT,
    startSeconds: Math.round(startSeconds * 100) / 100,
    parkedSeconds: Math.round(parkedSeconds * 100) / 100,
    serverRssMb: rss,
    peakServerRssMb: peak,
  };
  console.log(`(b) parked: ${JSON.stringify(r)}`);
  return r;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-devserver-'));
  try {
    const memory = await runShaped('memory');
    const persisted = await runShaped('persisted', path.join(dir, 'bench.db'));
    const parkedResult = await runParked();
    const summary = {
      machine: { cpus: os.cpus().length, node: process.version },
      shapedInMemory: memory,
      shapedPersisted: persisted,
      parked: parkedResult,
      targets: {
        inMemoryAtLeastPerSecond: 200,
        persistedAtLeastPerSecond: 100,
        parkedUnderMb: 400,
        met:
          memory.completionsPerSecond >= 200 &&
          persisted.completionsPerSecond >= 100 &&
          parkedResult.peakServerRssMb < 400,
      },
    };
    console.log(JSON.stringify(summary));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
