// Workers for workflow tests: the app's real workflows (bundled once per test
// process: webpack takes seconds) and real activities over the test database.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import pino from 'pino';
import { createActivities } from '../../activities';
import type { Db } from '../../db/knex';

let bundle: Promise<WorkflowBundle> | undefined;

function workflowBundle(): Promise<WorkflowBundle> {
  return (bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  }));
}

/** A worker on a fresh task queue of `env`, with every app workflow and activity. */
export async function appWorker(
  env: TestWorkflowEnvironment,
  db: Db,
): Promise<{ worker: Worker; taskQueue: string }> {
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ db, logger: pino({ level: 'silent' }) }),
  });
  return { worker, taskQueue };
}
