// Workflows exercised by the dev server tests, bundled once per test run.
import * as wf from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';

export interface BasicActivities {
  greet(name: string): Promise<string>;
}

const basic = wf.proxyActivities<BasicActivities>({ startToCloseTimeout: '10s' });

export async function activityAndTimer(name: string, timerMs: number): Promise<string> {
  const greeting = await basic.greet(name);
  await wf.sleep(timerMs);
  return `${greeting} after ${timerMs}ms`;
}

export async function sleeper(ms: number): Promise<number> {
  const before = Date.now();
  await wf.sleep(ms);
  return Date.now() - before;
}

export const addSignal = wf.defineSignal<[string]>('add');
export const doneSignal = wf.defineSignal('done');
export const itemsQuery = wf.defineQuery<string[]>('items');

/** Collects signalled items until `done`; answers the `items` query meanwhile. */
export async function collector(): Promise<string[]> {
  const items: string[] = [];
  let done = false;
  wf.setHandler(addSignal, (item) => void items.push(item));
  wf.setHandler(doneSignal, () => void (done = true));
  wf.setHandler(itemsQuery, () => items);
  await wf.condition(() => done);
  return items;
}

/** Waits to be cancelled, then reports that it cleaned up. */
export async function cancellable(): Promise<string> {
  try {
    await wf.sleep('1 day');
    return 'not cancelled';
  } catch (err) {
    if (wf.isCancellation(err)) {
      await wf.CancellationScope.nonCancellable(() => wf.sleep(1));
      return 'cleaned up after cancel';
    }
    throw err;
  }
}

export async function failing(message: string): Promise<never> {
  throw wf.ApplicationFailure.nonRetryable(message, 'TestFailure');
}

export async function counter(n: number, until: number): Promise<number> {
  if (n < until) await wf.continueAsNew<typeof counter>(n + 1, until);
  return n;
}

export async function child(value: string, behaviour: 'complete' | 'fail' | 'wait'): Promise<string> {
  if (behaviour === 'fail') throw wf.ApplicationFailure.nonRetryable(`child failed on ${value}`);
  if (behaviour === 'wait') await wf.condition(() => false);
  return `child:${value}`;
}

export async function parentOf(behaviour: 'complete' | 'fail'): Promise<string> {
  try {
    return await wf.executeChild(child, {
      args: ['x', behaviour],
      workflowId: `${wf.workflowInfo().workflowId}-child`,
    });
  } catch (err) {
    if (err instanceof wf.ChildWorkflowFailure) return `caught: ${err.cause?.message}`;
    throw err;
  }
}

/** Starts a waiting child, cancels it, reports how the child ended. */
export async function parentCancelsChild(): Promise<string> {
  const scope = new wf.CancellationScope();
  const handle = await scope.run(() =>
    wf.startChild(child, {
      args: ['c', 'wait'],
      workflowId: `${wf.workflowInfo().workflowId}-child`,
      cancellationType: wf.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
  );
  scope.cancel();
  try {
    await handle.result();
    return 'child completed';
  } catch (err) {
    return err instanceof wf.ChildWorkflowFailure && wf.isCancellation(err.cause)
      ? 'child cancelled'
      : `other: ${String(err)}`;
  }
}

/** Starts a waiting child with the given parent close policy and completes at once. */
export async function parentLeavesChild(policy: 'TERMINATE' | 'ABANDON' | 'REQUEST_CANCEL'): Promise<string> {
  const handle = await wf.startChild(child, {
    args: ['p', 'wait'],
    workflowId: `${wf.workflowInfo().workflowId}-child`,
    parentClosePolicy: policy,
  });
  return handle.workflowId;
}

/** Signals and cancels other workflows by id. */
export async function externalActor(targetId: string, action: 'signal' | 'cancel'): Promise<string> {
  const h = wf.getExternalWorkflowHandle(targetId);
  if (action === 'signal') {
    await h.signal(addSignal, 'from-external');
    await h.signal(doneSignal);
  } else {
    await h.cancel();
  }
  return 'ok';
}

export async function signalMissing(): Promise<string> {
  try {
    await wf.getExternalWorkflowHandle('does-not-exist').signal(doneSignal);
    return 'signalled';
  } catch (err) {
    return `failed: ${(err as Error).name}`;
  }
}

const localActs = wf.proxyLocalActivities<BasicActivities>({ startToCloseTimeout: '10s' });

/** Uses a patch marker and a local activity marker. */
export async function markers(name: string): Promise<string> {
  const patched = wf.patched('my-patch');
  const greeting = await localActs.greet(name);
  return `${greeting}:${patched}`;
}

export const CustomKeyword = defineSearchAttributeKey('CustomKeywordField', 'KEYWORD');
export const setStage = wf.defineSignal<[string]>('setStage');

/** Upserts a search attribute and memo from the workflow, then waits for `done`. */
export async function upserter(): Promise<void> {
  let done = false;
  wf.setHandler(doneSignal, () => void (done = true));
  wf.setHandler(setStage, (stage) => {
    wf.upsertSearchAttributes([{ key: CustomKeyword, value: stage }]);
    wf.upsertMemo({ stage, untouched: undefined });
  });
  await wf.condition(() => done);
}

export const incrementUpdate = wf.defineUpdate<number, [number]>('increment');

/** Holds a total changed by the `increment` update, whose validator rejects negatives. */
export async function updatable(): Promise<number> {
  let total = 0;
  let done = false;
  wf.setHandler(
    incrementUpdate,
    async (by) => {
      await wf.sleep(1);
      total += by;
      return total;
    },
    {
      validator: (by) => {
        if (by < 0) throw new Error('negative increments are not allowed');
      },
    },
  );
  wf.setHandler(doneSignal, () => void (done = true));
  await wf.condition(() => done);
  return total;
}

export interface FlakyActivities {
  flaky(failTimes: number, errorType: string): Promise<number>;
  hang(): Promise<void>;
  heartbeater(): Promise<string>;
  cancellableHeartbeater(): Promise<string>;
  external(): Promise<string>;
  delayedRetry(): Promise<number>;
}

export async function runFlaky(
  failTimes: number,
  errorType: string,
  maxAttempts: number,
  nonRetryable: string[],
): Promise<string> {
  const acts = wf.proxyActivities<FlakyActivities>({
    startToCloseTimeout: '10s',
    retry: {
      initialInterval: 10,
      backoffCoefficient: 2,
      maximumAttempts: maxAttempts,
      nonRetryableErrorTypes: nonRetryable,
    },
  });
  try {
    return `ok after ${await acts.flaky(failTimes, errorType)} attempts`;
  } catch (err) {
    if (err instanceof wf.ActivityFailure) {
      const cause = err.cause as wf.ApplicationFailure | undefined;
      return `failed: ${cause?.type ?? ''} retryState=${err.retryState}`;
    }
    throw err;
  }
}

export async function runDelayedRetry(): Promise<number> {
  const acts = wf.proxyActivities<FlakyActivities>({
    startToCloseTimeout: '10s',
    retry: { initialInterval: '1 hour' },
  });
  return acts.delayedRetry();
}

/** Runs an activity with the given timeouts and reports how it ended. */
export async function timeoutProbe(
  activity: 'hang' | 'heartbeater',
  timeouts: {
    scheduleToStartMs?: number;
    startToCloseMs?: number;
    scheduleToCloseMs?: number;
    heartbeatMs?: number;
  },
  taskQueue?: string,
): Promise<string> {
  const acts = wf.proxyActivities<FlakyActivities>({
    taskQueue,
    scheduleToStartTimeout: timeouts.scheduleToStartMs,
    startToCloseTimeout: timeouts.startToCloseMs,
    scheduleToCloseTimeout: timeouts.scheduleToCloseMs,
    heartbeatTimeout: timeouts.heartbeatMs,
    retry: { maximumAttempts: 2, initialInterval: 10 },
  });
  try {
    await acts[activity]();
    return 'completed';
  } catch (err) {
    if (err instanceof wf.ActivityFailure && err.cause instanceof wf.TimeoutFailure) {
      return `timeout:${err.cause.timeoutType}`;
    }
    throw err;
  }
}

export async function runHeartbeater(): Promise<string> {
  const acts = wf.proxyActivities<FlakyActivities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '10s',
    retry: { initialInterval: 10, maximumAttempts: 3 },
  });
  return acts.heartbeater();
}

/** Cancels a heartbeating activity and waits for its cancellation to be confirmed. */
export async function cancelActivity(): Promise<string> {
  const acts = wf.proxyActivities<FlakyActivities>({
    startToCloseTimeout: '30s',
    heartbeatTimeout: '1s',
    cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const scope = new wf.CancellationScope();
  const p = scope.run(() => acts.cancellableHeartbeater());
  await wf.sleep(200);
  scope.cancel();
  try {
    return await p;
  } catch (err) {
    return wf.isCancellation(err) ? 'activity cancelled' : `other: ${String(err)}`;
  }
}

export async function runExternal(): Promise<string> {
  const acts = wf.proxyActivities<FlakyActivities>({ startToCloseTimeout: '30s' });
  return acts.external();
}

/** Many events: n activities then n timers, for history pagination. */
export async function longHistory(n: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    await basic.greet(String(i));
    sum++;
  }
  for (let i = 0; i < n; i++) await wf.sleep(1);
  return sum;
}

/** Two activities, a timer and a signal: the benchmark's shape, also used by the restart test. */
export async function benchShape(timerMs: number): Promise<string> {
  let go = false;
  wf.setHandler(doneSignal, () => void (go = true));
  const a = await basic.greet('a');
  await wf.sleep(timerMs);
  const b = await basic.greet('b');
  await wf.condition(() => go);
  return `${a}+${b}`;
}

/** Starts a child that waits forever, then waits itself (for describe's pending children). */
export async function parentWaits(): Promise<void> {
  await wf.startChild(child, { args: ['w', 'wait'], workflowId: `${wf.workflowInfo().workflowId}-child` });
  await wf.condition(() => false);
}

export * from './clock';
export * from './limits';
export * from './tasks';
export * from './lifecycle';
