// Every deadline of a run (timers, workflow and activity timeouts, retry backoffs, the
// held-back first workflow task, run and execution timeouts) is derived from its state,
// so the scheduler holds one entry per run: the earliest of them. That keeps timers
// correct by construction after a restart: loading a run re-arms whatever it owes.
import type { Engine } from './engine';
import type { Execution } from './execution';
import type { ActivityState } from './state';
import { runDeadlineMs } from './state';
import { TimeoutType } from '../proto';
import { activityTimedOut, retryActivityNow } from './activities';
import { fireTimer } from './commands';
import {
  workflowTaskTimedOut,
  stickyScheduleToStartExpired,
  scheduleFirstWorkflowTask,
} from './workflow-tasks';
import { timeOutWorkflow } from './lifecycle';

interface Due {
  atMs: number;
  order: number;
  run: () => void;
}

function activityDeadline(a: ActivityState): { atMs: number; type: number } | undefined {
  const candidates: { atMs: number; type: number }[] = [];
  if (a.phase === 'backoff') return { atMs: a.retryAtMs, type: 0 };
  if (a.scheduleToCloseMs > 0)
    candidates.push({
      atMs: a.scheduledMs + a.scheduleToCloseMs,
      type: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE,
    });
  if (a.phase === 'scheduled' && a.scheduleToStartMs > 0)
    candidates.push({
      atMs: a.attemptScheduledMs + a.scheduleToStartMs,
      type: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    });
  if (a.phase === 'started') {
    if (a.startToCloseMs > 0)
      candidates.push({
        atMs: a.startedMs + a.startToCloseMs,
        type: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      });
    if (a.heartbeatMs > 0)
      candidates.push({
        atMs: Math.max(a.lastHeartbeatMs, a.startedMs) + a.heartbeatMs,
        type: TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
      });
  }
  let best: { atMs: number; type: number } | undefined;
  for (const c of candidates) if (!best || c.atMs < best.atMs) best = c;
  return best;
}

function collect(engine: Engine, exec: Execution): Due[] {
  const s = exec.s;
  const items: Due[] = [];
  const deadline = [runDeadlineMs(s), s.executionDeadlineMs].filter((d) => d > 0);
  if (deadline.length > 0)
    items.push({ atMs: Math.min(...deadline), order: 0, run: () => timeOutWorkflow(engine, exec) });
  if (s.firstWftAtMs > 0 && !s.wft)
    items.push({ atMs: s.firstWftAtMs, order: 1, run: () => scheduleFirstWorkflowTask(engine, exec) });
  const wft = s.wft;
  if (wft?.phase === 'started' && wft.startToCloseMs > 0) {
    const seq = wft.seq;
    items.push({
      atMs: wft.startedMs + wft.startToCloseMs,
      order: 2,
      run: () => workflowTaskTimedOut(engine, exec, seq),
    });
  } else if (wft?.phase === 'scheduled' && wft.sticky && s.sticky && s.sticky.scheduleToStartMs > 0) {
    const seq = wft.seq;
    items.push({
      atMs: wft.scheduledMs + s.sticky.scheduleToStartMs,
      order: 2,
      run: () => stickyScheduleToStartExpired(engine, exec, seq),
    });
  }
  for (const t of Object.values(s.timers)) {
    items.push({
      atMs: t.fireAtMs,
      order: 3,
      run: () => fireTimer(engine, exec, t.timerId, t.startedEventId),
    });
  }
  for (const a of Object.values(s.activities)) {
    const d = activityDeadline(a);
    if (!d) continue;
    const sid = a.scheduledEventId;
    const attempt = a.attempt;
    items.push({
      atMs: d.atMs,
      order: 4,
      run:
        d.type === 0
          ? () => retryActivityNow(engine, exec, sid, attempt)
          : () => activityTimedOut(engine, exec, sid, attempt, d.type),
    });
  }
  return items;
}

export function computeDeadlines(engine: Engine, exec: Execution): number | undefined {
  let min: number | undefined;
  for (const item of collect(engine, exec)) if (min === undefined || item.atMs < min) min = item.atMs;
  return min;
}

export function runDue(engine: Engine, exec: Execution): void {
  const now = engine.now();
  const due = collect(engine, exec)
    .filter((d) => d.atMs <= now)
    .sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  for (const d of due) {
    if (!exec.running) return;
    d.run();
  }
}
