// The project's Temporal test server: the dev server executable in devserver/bin, and
// helpers that start the SDK's TestWorkflowEnvironment against it. Workflow tests use
// these instead of a downloaded Temporal CLI or Java test server, which this project's
// machines cannot fetch.
//
//   const env = await createTimeSkippingEnv();      // virtual clock, env.sleep() skips time
//   const env = await createLocalEnv();             // real clock, like `temporal server start-dev`
//   ... Worker.create({ connection: env.nativeConnection, ... }), env.client.workflow.execute(...)
//   await env.teardown();
//
// sharedLocalEnv() starts one local environment per test process and tears it down in
// the root afterAll hook, for suites that only need a server (use unique task queues).
//
// The SDK runtime the root hooks install logs through testRuntimeLogger: errors are
// printed, and while a time-skipping environment is open the worker's warning "Activity
// not found on completion" is recorded. That warning means the server no longer had an
// activity when its worker completed it: the workflow closed while the activity still ran,
// or the virtual clock jumped past the activity and timed it out (see STALE_COMPLETION_CAUSES).
// The root afterEach hook fails the test during which it was logged, and the environment's
// teardown fails on any logged after that.
import * as path from 'node:path';
import {
  TestWorkflowEnvironment,
  type LocalTestWorkflowEnvironmentOptions,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry } from '@temporalio/worker';
import { registerCleanup } from './cleanup';

/** Absolute path of the dev server executable (`server start-dev ...` or `<port>`). */
export const DEVSERVER_EXECUTABLE = path.resolve(__dirname, '../../devserver/bin/temporal-devserver');

const executable = { type: 'existing-path' as const, path: DEVSERVER_EXECUTABLE };

const STALE_COMPLETION = 'Activity not found on completion';
let openTimeSkippingEnvs = 0;
let staleCompletions: string[] = [];

function printLogEntry(entry: LogEntry): void {
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta && Object.keys(entry.meta).length > 0 ? ` ${JSON.stringify(entry.meta)}` : '';
  process.stderr.write(`${at} [${entry.level}] ${entry.message}${meta}\n`);
}

/** The SDK runtime's logger in tests: prints errors; notes stale activity completions (see above). */
export const testRuntimeLogger = new DefaultLogger('WARN', (entry) => {
  if (entry.level === 'ERROR') printLogEntry(entry);
  else if (openTimeSkippingEnvs > 0 && entry.message.includes(STALE_COMPLETION))
    staleCompletions.push(entry.message);
});

/** Core logs errors only, except the activity worker's warnings (forwarded to testRuntimeLogger). */
export const testRuntimeLogFilter = `${makeTelemetryFilterString({ core: 'ERROR' })},temporalio_sdk_core::worker::activities=WARN`;

/** The stale activity completions workers reported since the last call (logs buffered so far included). */
export function takeStaleActivityCompletions(): string[] {
  Runtime._instance?.flushLogs();
  const seen = staleCompletions;
  staleCompletions = [];
  return seen;
}

/**
 * When the warning appears. A running activity holds a time-skipping lock, but the test
 * service's unlocks lower the same counter (as on the Java test server), so the clock can
 * still jump past an activity while more than one unlock is in progress.
 */
const STALE_COMPLETION_CAUSES =
  'the server no longer had the activity when its worker completed it. Either its workflow ' +
  'closed (or cancelled it) while it still ran, or the virtual clock jumped past it and timed ' +
  'it out: a running activity holds one time-skipping lock, but every result() wait and every ' +
  'env.sleep() takes one away from the same counter, as on the Java test server, so two ' +
  'result() waits at once, or an env.sleep() beside a result(), cancel out the lock of a ' +
  'running activity. Await results one at a time, and let a workflow wait for its activities ' +
  'before it closes';

/** The failure for the stale activity completions reported since the last call, if any. */
export function staleActivityCompletionsError(where: string): Error | undefined {
  const seen = takeStaleActivityCompletions();
  if (seen.length === 0) return undefined;
  return new Error(
    `${where}: a worker reported "${STALE_COMPLETION}" ${seen.length} time(s) in a time-skipping ` +
      `test: ${STALE_COMPLETION_CAUSES}`,
  );
}

/** Throws when a worker completed an activity a time-skipping server had already given up on. */
export function assertNoStaleActivityCompletions(where: string): void {
  const error = staleActivityCompletionsError(where);
  if (error) throw error;
}

/** A time-skipping environment (Java test server semantics) backed by the dev server. */
export async function createTimeSkippingEnv(
  opts: TimeSkippingTestWorkflowEnvironmentOptions = {},
): Promise<TestWorkflowEnvironment> {
  const env = await startingAgain(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      ...opts,
      server: { ...opts.server, executable },
    }),
  );
  openTimeSkippingEnvs++;
  const teardown = env.teardown.bind(env);
  let tornDown = false;
  env.teardown = async () => {
    if (tornDown) return teardown();
    tornDown = true;
    try {
      await teardown();
    } finally {
      // Warnings logged while the environment was open still count: flush them in first.
      Runtime._instance?.flushLogs();
      openTimeSkippingEnvs--;
    }
    assertNoStaleActivityCompletions('time-skipping environment teardown');
  };
  return env;
}

/** A local environment on the real clock (Temporal CLI dev server semantics). */
export async function createLocalEnv(
  opts: LocalTestWorkflowEnvironmentOptions = {},
): Promise<TestWorkflowEnvironment> {
  return startingAgain(() =>
    TestWorkflowEnvironment.createLocal({
      ...opts,
      server: { ...opts.server, executable },
    }),
  );
}

/**
 * The SDK gives a freshly spawned server 5 s to answer (a fixed limit in its
 * core). On a machine whose two cores are saturated a start can take longer:
 * a server that did not come up in time is started again, twice at most.
 */
async function startingAgain(
  start: () => Promise<TestWorkflowEnvironment>,
): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const slowStart = error instanceof Error && /did not start within/.test(error.message);
      if (!slowStart || attempt >= 3) throw error;
      console.warn(`  the dev server did not start in time (attempt ${attempt}); starting it again`);
    }
  }
}

let shared: Promise<TestWorkflowEnvironment> | undefined;

/** One local environment for the whole test process, torn down after all tests. */
export function sharedLocalEnv(): Promise<TestWorkflowEnvironment> {
  if (!shared) {
    shared = createLocalEnv();
    const created = shared;
    registerCleanup(async () => {
      const env = await created.catch(() => undefined);
      await env?.teardown();
    });
  }
  return shared;
}

/**
 * The app's workflow tests run against a real Temporal when TEMPORAL_TEST_ADDRESS
 * names one (host:port, namespace TEMPORAL_TEST_NAMESPACE or `default`), and against
 * the dev server in time-skipping mode otherwise. A real server cannot skip time:
 * tests that need it call requireTimeSkipping and are skipped there, saying so.
 */
export const EXISTING_TEMPORAL_ADDRESS = process.env.TEMPORAL_TEST_ADDRESS || undefined;

export async function workflowTestEnv(): Promise<TestWorkflowEnvironment> {
  if (EXISTING_TEMPORAL_ADDRESS === undefined) return createTimeSkippingEnv();
  return TestWorkflowEnvironment.createFromExistingServer({
    address: EXISTING_TEMPORAL_ADDRESS,
    namespace: process.env.TEMPORAL_TEST_NAMESPACE || 'default',
  });
}

/** Skips the test (or, in a before hook, the suite) when the server cannot skip time, and says why. */
export function requireTimeSkipping(ctx: Mocha.Context, env?: TestWorkflowEnvironment): void {
  if (env?.supportsTimeSkipping ?? EXISTING_TEMPORAL_ADDRESS === undefined) return;
  console.log(
    `      (needs time skipping, which the Temporal at TEMPORAL_TEST_ADDRESS=${EXISTING_TEMPORAL_ADDRESS} does not offer: skipped)`,
  );
  ctx.skip();
}
