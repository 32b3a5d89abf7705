// Reading history: pages, the long poll for new events or for the close event (how the
// client waits for a result), and reverse order.
import type { Engine } from './engine';
import type { Execution } from './execution';
import { isCloseEvent } from './events';
import { historyPage } from './workflow-tasks';
import { encodeToken, decodeToken } from './tokens';
import { temporal, type IHistoryEvent } from '../proto';
import type { CallContext } from '../rpc/grpc-server';

type HistoryRequest = temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryRequest;
type HistoryResponse = temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryResponse;
const CLOSE_EVENT = temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;

function pageSize(engine: Engine, requested: number | null | undefined): number {
  return requested && requested > 0 ? Math.min(requested, engine.historyPageSize) : engine.historyPageSize;
}

function waitForChange(exec: Execution, ctx: CallContext, untilMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      exec.listeners.delete(done);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, untilMs - Date.now()));
    const unsubscribe = ctx.onCancel(done);
    exec.listeners.add(done);
  });
}

export async function getHistory(
  engine: Engine,
  exec: Execution,
  req: HistoryRequest,
  ctx: CallContext,
): Promise<HistoryResponse> {
  const token = req.nextPageToken?.length
    ? decodeToken(req.nextPageToken, 'h', 'next page token')
    : undefined;
  const closeOnly = req.historyEventFilterType === CLOSE_EVENT;
  const giveUpAt = Math.min(Date.now() + engine.longPollMs, ctx.deadlineMs - 1000);
  // Bounded by giveUpAt: every iteration either answers or waits for a change until then.
  for (;;) {
    const last = exec.history.at(-1);
    const closed = !exec.running && last !== undefined && isCloseEvent(last);
    if (closeOnly) {
      if (closed) return { history: { events: [last] as never } };
      if (!req.waitNewEvent) return { history: { events: [] } };
    } else {
      const from = token?.from ?? 1;
      const to = token?.to ?? 0;
      if (exec.history.length >= from || !req.waitNewEvent || closed) {
        const page = historyPage(
          engine,
          exec,
          from,
          to,
          token?.tseq ?? 0,
          pageSize(engine, req.maximumPageSize),
        );
        // A long poll that got events hands back a token for the events after them.
        const nextPageToken =
          page.nextPageToken ??
          (req.waitNewEvent && !closed && page.events.length > 0
            ? encodeToken({ k: 'h', from: from + page.events.length, to: 0, tseq: 0 })
            : undefined);
        return { history: { events: page.events as never }, nextPageToken };
      }
    }
    if (Date.now() >= giveUpAt || ctx.cancelled() || engine.isClosed) {
      return { history: { events: [] }, nextPageToken: req.nextPageToken ?? undefined };
    }
    await waitForChange(exec, ctx, giveUpAt);
  }
}

export function getHistoryReverse(
  engine: Engine,
  exec: Execution,
  req: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseRequest,
): temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryReverseResponse {
  const token = req.nextPageToken?.length
    ? decodeToken(req.nextPageToken, 'h', 'next page token')
    : undefined;
  const size = pageSize(engine, req.maximumPageSize);
  // Reverse pages walk down from `from` (inclusive) towards event 1.
  const start = Math.min(token?.from ?? exec.history.length, exec.history.length);
  const end = Math.max(0, start - size);
  const events: IHistoryEvent[] = exec.history.slice(end, start).reverse();
  return {
    history: { events: events as never },
    nextPageToken: end > 0 ? encodeToken({ k: 'h', from: end, to: 0, tseq: 0 }) : undefined,
  };
}
