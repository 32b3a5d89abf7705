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
import * as path from 'node:path';
import {
  TestWorkflowEnvironment,
  type LocalTestWorkflowEnvironmentOptions,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';
import { registerCleanup } from './cleanup';

/** Absolute path of the dev server executable (`server start-dev ...` or `<port>`). */
export const DEVSERVER_EXECUTABLE = path.resolve(__dirname, '../../devserver/bin/temporal-devserver');

const executable = { type: 'existing-path' as const, path: DEVSERVER_EXECUTABLE };

/** A time-skipping environment (Java test server semantics) backed by the dev server. */
export async function createTimeSkippingEnv(
  opts: TimeSkippingTestWorkflowEnvironmentOptions = {},
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    ...opts,
    server: { ...opts.server, executable },
  });
}

/** A local environment on the real clock (Temporal CLI dev server semantics). */
export async function createLocalEnv(
  opts: LocalTestWorkflowEnvironmentOptions = {},
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    ...opts,
    server: { ...opts.server, executable },
  });
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
