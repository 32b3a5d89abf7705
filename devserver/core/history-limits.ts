// The history limits the real server enforces with its default dynamic config: a running
// workflow whose history passes 51,200 events (limit.historyCount.error) or 50 MiB
// (limit.historySize.error) is terminated by the history service, with a warning logged
// once it passes 10,240 events or 10 MiB (the .warn limits). Workflow tasks tell the
// worker the history size and suggest continue-as-new from 4,096 events or 4 MiB
// (limit.historyCount/historySize.suggestContinueAsNew), as the SDKs' workflow info shows.
import type { Engine } from './engine';
import type { Execution } from './execution';
import { terminateRun } from './lifecycle';

export const HISTORY_COUNT_LIMIT_ERROR = 51_200;
export const HISTORY_COUNT_LIMIT_WARN = 10_240;
export const HISTORY_SIZE_LIMIT_ERROR = 50 * 1024 * 1024;
export const HISTORY_SIZE_LIMIT_WARN = 10 * 1024 * 1024;
export const HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW = 4 * 1024;
export const HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW = 4 * 1024 * 1024;

/** common.FailureReasonHistorySizeExceedsLimit / FailureReasonHistoryCountExceedsLimit */
export const HISTORY_SIZE_EXCEEDS_LIMIT = 'Workflow history size exceeds limit.';
export const HISTORY_COUNT_EXCEEDS_LIMIT = 'Workflow history count exceeds limit.';

/** What a WorkflowTaskStarted event reports about the history before it. */
export function historySizeInfo(exec: Execution): {
  historySizeBytes: number;
  suggestContinueAsNew: boolean;
} {
  const bytes = exec.historySizeBytes;
  return {
    historySizeBytes: bytes,
    suggestContinueAsNew:
      bytes >= HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW ||
      exec.history.length >= HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW,
  };
}

/**
 * Terminates a running run past the history limits (size first, as the real server checks
 * it first), and logs the warnings once per run. Called for every changed run before its
 * changes are committed.
 */
export function enforceHistoryLimits(engine: Engine, exec: Execution): void {
  if (!exec.running) return;
  const count = exec.history.length;
  const bytes = exec.historySizeBytes;
  const where = `workflow ${exec.s.workflowId} run ${exec.s.runId}`;
  let reason: string | undefined;
  if (bytes > HISTORY_SIZE_LIMIT_ERROR) {
    engine.log.warn(`history size exceeds error limit: ${bytes} bytes (${where}); terminating`);
    reason = HISTORY_SIZE_EXCEEDS_LIMIT;
  } else if (count > HISTORY_COUNT_LIMIT_ERROR) {
    engine.log.warn(`history count exceeds error limit: ${count} events (${where}); terminating`);
    reason = HISTORY_COUNT_EXCEEDS_LIMIT;
  }
  if (reason) {
    terminateRun(engine, exec, reason, undefined, 'history-service');
    return;
  }
  if (bytes > HISTORY_SIZE_LIMIT_WARN && !exec.warned.historySize) {
    exec.warned.historySize = true;
    engine.log.warn(
      `history size exceeds warn limit: ${bytes} bytes (${where}); it is terminated past ${HISTORY_SIZE_LIMIT_ERROR}`,
    );
  }
  if (count > HISTORY_COUNT_LIMIT_WARN && !exec.warned.historyCount) {
    exec.warned.historyCount = true;
    engine.log.warn(
      `history count exceeds warn limit: ${count} events (${where}); it is terminated past ${HISTORY_COUNT_LIMIT_ERROR}`,
    );
  }
}
