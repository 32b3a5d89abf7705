// Shared setup for the dev server tests: one workflow bundle per test run, servers
// started in this process (or as the executable), and a worker per test on its own
// task queue, so tests do not see each other's tasks.
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { start, type DevServerHandle, type DevServerOptions } from '../../devserver/index';
import { registerCleanup } from '../support/cleanup';
import type { StartInput } from '../../devserver/core/lifecycle';
import { DEVSERVER_EXECUTABLE } from '../support/devserver';

let bundle: Promise<{ code: string }> | undefined;

export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'workflows', 'index.ts'),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    },
  });
  return bundle;
}

export interface TestServer {
  server: DevServerHandle;
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  close(): Promise<void>;
}

/** Starts a dev server in this process with an SDK client and a native connection for workers. */
export async function startTestServer(opts: DevServerOptions = {}): Promise<TestServer> {
  const server = await start({ port: 0, logLevel: 'error', ...opts });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await connection.close();
    await nativeConnection.close();
    await server.close();
  };
  registerCleanup(close);
  return { server, client, connection, nativeConnection, close };
}

let shared: Promise<TestServer> | undefined;

/** One in-memory server shared by the behaviour suites (each test uses its own task queue). */
export function sharedServer(): Promise<TestServer> {
  shared ??= startTestServer();
  return shared;
}

export function uniqueQueue(prefix = 'tq'): string {
  return `${prefix}-${randomUUID()}`;
}

/** Runs fn while a worker polls taskQueue, then shuts the worker down. */
export async function withWorker<T>(
  connection: NativeConnection,
  options: Omit<WorkerOptions, 'connection' | 'workflowBundle' | 'workflowsPath'>,
  fn: (worker: Worker) => Promise<T>,
): Promise<T> {
  const worker = await Worker.create({
    connection,
    workflowBundle: await workflowBundle(),
    ...options,
  });
  return worker.runUntil(fn(worker));
}

/** Polls a real condition (not a fixed sleep), bounded so a broken server fails the test. */
export async function waitFor(cond: () => Promise<boolean>, what = 'condition'): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A start for tests that drive the engine directly: a `collector` run with no timeouts. */
export function startInput(workflowId: string, taskQueue: string): StartInput {
  return {
    namespace: 'default',
    workflowId,
    workflowType: 'collector',
    taskQueue,
    executionTimeoutMs: 0,
    runTimeoutMs: 0,
    wftTimeoutMs: 10_000,
    startDelayMs: 0,
    requestId: randomUUID(),
    identity: 'test',
    reusePolicy: 0,
    conflictPolicy: 0,
  };
}

export interface LaunchedServer {
  child: ChildProcess;
  address: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * The executable as the SDK launches it (start-dev form, free port), with
 * DEVSERVER_LOG_LEVEL set (info or debug, so it prints its address) and its stderr kept.
 */
export async function launchWithLogLevel(level: 'info' | 'debug'): Promise<LaunchedServer> {
  const child = spawn(DEVSERVER_EXECUTABLE, ['server', 'start-dev', '--port', '0', '--headless'], {
    env: { ...process.env, DEVSERVER_LOG_LEVEL: level },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };
  registerCleanup(stop);
  let address = '';
  await waitFor(async () => {
    address = /Temporal dev server at ([\d.]+:\d+)/.exec(text)?.[1] ?? '';
    return address !== '' || child.exitCode !== null;
  }, 'the server to print its address');
  if (!address) throw new Error(`the dev server did not start: ${text}`);
  return { child, address, stderr: () => text, stop };
}
