// Workflows measured by bench/devserver.ts.
import * as wf from '@temporalio/workflow';

const acts = wf.proxyActivities<{ step(name: string): Promise<string> }>({ startToCloseTimeout: '1 minute' });
export const goSignal = wf.defineSignal('go');

/** Two activities, a timer and a signal. */
export async function shaped(timerMs: number): Promise<string> {
  let go = false;
  wf.setHandler(goSignal, () => void (go = true));
  const a = await acts.step('a');
  await wf.sleep(timerMs);
  const b = await acts.step('b');
  await wf.condition(() => go);
  return a + b;
}

/** Parks on a one-day timer. */
export async function parked(): Promise<void> {
  await wf.sleep('1 day');
}
