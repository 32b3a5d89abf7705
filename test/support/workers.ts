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
import { unconfiguredPayouts } from '../../withdrawals/payouts';
import { StripeGateway } from '../../payments/stripe';
import { emailTaskQueue } from '../../workflows/shared';
import { TEST_CURRENCY } from './db';

let bundle: Promise<WorkflowBundle> | undefined;

/** The app's workflows, bundled once per test process. */
export function workflowBundle(): Promise<WorkflowBundle> {
  return (bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  }));
}

/** Activity dependencies over the test database (LiveKit without a server, email and Stripe off, unless given). */
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
    payouts: unconfiguredPayouts,
    stripe: new StripeGateway({ secretKey: undefined, webhookSecret: undefined }),
    ...overrides,
  };
}

/**
 * The app's two workers as one: workflows and every activity on the task
 * queue, email delivery on its queue beside it (as workers/worker.ts runs them).
 */
export class AppWorkers {
  constructor(
    readonly main: Worker,
    readonly email: Worker,
  ) {}

  async run(): Promise<void> {
    await Promise.all([this.main.run(), this.email.run()]);
  }

  shutdown(): void {
    for (const worker of [this.main, this.email]) if (worker.getState() === 'RUNNING') worker.shutdown();
  }

  /** Runs both until `fn` settles, then stops them. */
  runUntil<T>(fn: () => Promise<T>): Promise<T> {
    return this.main.runUntil(() => this.email.runUntil(fn));
  }
}

/** Workers on a fresh task queue of `env` (or the one given), with every app workflow and activity. */
export async function appWorker(
  env: TestWorkflowEnvironment,
  db: Db,
  options: {
    taskQueue?: string;
    activities?: Partial<ActivityDeps>;
    /** Replaces activities with wrappers (fault injection around the real ones). */
    wrap?: (activities: Activities) => Activities;
  } = {},
): Promise<{ worker: AppWorkers; taskQueue: string }> {
  const created = createActivities(testActivityDeps(db, options.activities));
  const activities = options.wrap === undefined ? created : options.wrap(created);
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  return { worker: await appWorkersOn(env, taskQueue, activities), taskQueue };
}

/** The app's workflows with these activities on `taskQueue`, and email delivery on its queue beside it. */
export async function appWorkersOn(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  activities: Pick<Activities, 'deliverNotifications'> & object,
): Promise<AppWorkers> {
  const main = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const email = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: emailTaskQueue(taskQueue),
    activities: { deliverNotifications: activities.deliverNotifications },
  });
  return new AppWorkers(main, email);
}
