// Workflows for the time-skipping rules: activities that take real time, or whose own
// code sleeps server time through the test environment, beside timers.
import * as wf from '@temporalio/workflow';

export interface ClockActivities {
  /** Works for `ms` of real time, then returns 'done'. */
  slowStep(ms: number): Promise<string>;
  /** Sleeps `duration` of server time with env.sleep(), then returns 'activity'. */
  sleepyStep(duration: string): Promise<string>;
  /** Fails its first attempt after `ms` of real time; later attempts return their number. */
  failFirstAttempt(ms: number): Promise<number>;
  /** Returns once the test lets it. */
  heldStep(): Promise<string>;
}

const once = { maximumAttempts: 1 };

/** An activity first (one attempt, a minute to run), then an hour's timer. */
export async function activityThenHourTimer(activityMs: number): Promise<string> {
  const acts = wf.proxyActivities<ClockActivities>({ startToCloseTimeout: '1 minute', retry: once });
  const result = await acts.slowStep(activityMs);
  await wf.sleep('1 hour');
  return result;
}

/** Timers of 12 hours and 1 day beside an activity that sleeps two days; what happened, in order. */
export async function timersBesideSleepyActivity(): Promise<string[]> {
  const acts = wf.proxyActivities<ClockActivities>({ startToCloseTimeout: '7 days', retry: once });
  const seen: string[] = [];
  await Promise.all([
    acts.sleepyStep('2 days').then((r) => void seen.push(r)),
    wf.sleep('12 hours').then(() => void seen.push('12h timer')),
    wf.sleep('1 day').then(() => void seen.push('1d timer')),
  ]);
  return seen;
}

/** A quick activity (ten seconds to run) at the same time as one that sleeps a day of server time. */
export async function quickBesideSleepy(quickMs: number): Promise<string[]> {
  const quick = wf.proxyActivities<ClockActivities>({ startToCloseTimeout: '10 seconds', retry: once });
  const sleepy = wf.proxyActivities<ClockActivities>({ startToCloseTimeout: '7 days', retry: once });
  return Promise.all([quick.slowStep(quickMs), sleepy.sleepyStep('1 day')]);
}

/** An activity (two seconds to run) retried a minute after its first attempt fails, then an hour's timer. */
export async function retriedAfterAMinute(firstAttemptMs: number): Promise<number> {
  const acts = wf.proxyActivities<ClockActivities>({
    startToCloseTimeout: '2 seconds',
    retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumAttempts: 3 },
  });
  const attempt = await acts.failFirstAttempt(firstAttemptMs);
  await wf.sleep('1 hour');
  return attempt;
}

export const closeSignal = wf.defineSignal('close');

/** Starts an activity and closes when signalled, leaving the activity running. */
export async function leavesActivityRunning(): Promise<string> {
  const acts = wf.proxyActivities<ClockActivities>({ startToCloseTimeout: '1 minute', retry: once });
  let close = false;
  wf.setHandler(closeSignal, () => void (close = true));
  void acts.heldStep();
  await wf.condition(() => close);
  return 'closed';
}
