// Workers for workflow tests: the app's real workflows (bundled once per test
// process: webpack takes seconds) and real activities over the test database.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import pino from 'pino';
import { createActivities, type Activities, type ActivityDeps } from '../../activities';
import type { Db } from '../../db/knex';
import { LiveKit } from '../../livekit/livekit';
import { unconfiguredMailer } from '../../notifications/mailer';
import { TEST_CURRENCY } from './db';

let bundle: Promise<WorkflowBundle> | undefined;

function workflowBundle(): Promise<WorkflowBundle> {
  return (bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  }));
}

/** Activity dependencies over the test database (LiveKit without a server, email off, unless given). */
export function testActivityDeps(db: Db, overrides: Partial<ActivityDeps> = {}): ActivityDeps {
  return {
    db,
    logger: pino({ level: 'silent' }),
    livekit: new LiveKit({ url: undefined, apiKey: 'devkey', apiSecret: 'secret' }),
    currency: TEST_CURRENCY,
    publicUrl: 'http://localhost:3000',
    mailer: unconfiguredMailer,
    email: {
      from: 'Class Marketplace <no-reply@marketplace.test>',
      currency: TEST_CURRENCY,
      publicUrl: 'http://localhost:3000',
    },
    ...overrides,
  };
}

/** A worker on a fresh task queue of `env` (or the one given), with every app workflow and activity. */
export async function appWorker(
  env: TestWorkflowEnvironment,
  db: Db,
  options: {
    taskQueue?: string;
    activities?: Partial<ActivityDeps>;
    /** Replaces activities with wrappers (fault injection around the real ones). */
    wrap?: (activities: Activities) => Activities;
  } = {},
): Promise<{ worker: Worker; taskQueue: string }> {
  const activities = createActivities(testActivityDeps(db, options.activities));
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: options.wrap === undefined ? activities : options.wrap(activities),
  });
  return { worker, taskQueue };
}
