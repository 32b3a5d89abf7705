// Workflows exercised by the dev server tests, bundled once per test run.
import * as wf from '@temporalio/workflow';

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
