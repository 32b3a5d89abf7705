// "Every row has its workflow": rows (bookings, withdrawals) commit first and
// their request then starts the workflow and sets `workflow_started`. Rows
// still unset after a grace period (the request died, Temporal was away) are
// claimed here, `FOR UPDATE SKIP LOCKED` so several workers share the work,
// and started; starting one that already runs is harmless (one id per row).
import type { Conn, Db } from './knex';

export type WorkflowTable = 'bookings' | 'withdrawals';

export async function markWorkflowsStarted(conn: Conn, table: WorkflowTable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  // `is false`, not `= false` (the same for this not-null column, still a
  // compare-and-set): PostgreSQL cannot match `is false` to the partial index
  // `<table>_unstarted_idx (created_at) where not workflow_started`, so the
  // rows are found by primary key. With `= false` the planner, whose
  // statistics say almost every row is started, scanned that whole partial
  // index (every row in flight, and dead entries) for each mark instead: with
  // 100,000 finished bookings in the table, 20 -> 96 buffers per one-row mark
  // (pg_stat_statements, bench:bookings). The reconciler's claim below still
  // uses the index. This leans on how PostgreSQL 15's planner matches partial
  // index predicates, not on a promise: after an upgrade, check the plan again
  // (EXPLAIN, or bench:bookings with BENCH_PG_STATEMENTS=1).
  await conn(table)
    .whereIn('id', ids)
    .whereRaw('workflow_started is false')
    .update({ workflow_started: true });
}

/** Ids marked in one statement at most (bind parameters stay far below PostgreSQL's limit). */
const MARKS_PER_STATEMENT = 1_000;

/**
 * Marks of one table coalesced: while one update runs, the ids marked
 * meanwhile wait and then go in one statement together, so requests that
 * start workflows at once share a round trip instead of taking one each.
 * Nothing is delayed when marks are few (the first one goes at once), and a
 * mark that fails is reported to its callers: the reconciler starts those.
 */
class CoalescedMarks {
  private waiting: { ids: string[]; done: { resolve(): void; reject(error: unknown): void }[] } | undefined;
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly table: WorkflowTable,
  ) {}

  mark(ids: string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting ??= { ids: [], done: [] };
      this.waiting.ids.push(...ids);
      this.waiting.done.push({ resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting !== undefined) {
      const batch = this.waiting;
      this.waiting = undefined;
      try {
        for (let i = 0; i < batch.ids.length; i += MARKS_PER_STATEMENT) {
          await markWorkflowsStarted(this.db, this.table, batch.ids.slice(i, i + MARKS_PER_STATEMENT));
        }
        for (const d of batch.done) d.resolve();
      } catch (error) {
        for (const d of batch.done) d.reject(error);
      }
    }
    this.running = false;
  }
}

const coalesced = new WeakMap<Db, Map<WorkflowTable, CoalescedMarks>>();

/**
 * `markWorkflowsStarted` on the pool, sharing one statement with the marks of
 * other requests made meanwhile; answers when these ids are marked.
 */
export function markWorkflowsStartedSoon(db: Db, table: WorkflowTable, ids: string[]): Promise<void> {
  let tables = coalesced.get(db);
  if (tables === undefined) coalesced.set(db, (tables = new Map<WorkflowTable, CoalescedMarks>()));
  let marks = tables.get(table);
  if (marks === undefined) tables.set(table, (marks = new CoalescedMarks(db, table)));
  return marks.mark(ids);
}

/**
 * Starts the workflows of up to `limit` rows of `table` made before
 * `olderThan` whose workflow is not known to run; a start that fails is
 * reported and left for the next round. Answers how many were started.
 */
export async function startUnstartedWorkflows<Row extends { id: string }>(
  db: Db,
  table: WorkflowTable,
  options: {
    olderThan: Date;
    limit: number;
    start: (row: Row) => Promise<void>;
    onFailure: (row: Row, error: unknown) => void;
  },
): Promise<number> {
  return db.transaction(async (trx) => {
    const claimed = (await trx(table)
      .where({ workflow_started: false })
      .andWhere('created_at', '<', options.olderThan)
      .orderBy('created_at')
      .limit(options.limit)
      .forUpdate()
      .skipLocked()) as Row[];
    const started: string[] = [];
    // All at once: the claimed rows stay locked for one start's deadline at most.
    await Promise.all(
      claimed.map(async (row) => {
        try {
          await options.start(row);
          started.push(row.id);
        } catch (error) {
          options.onFailure(row, error);
        }
      }),
    );
    await markWorkflowsStarted(trx, table, started);
    return started.length;
  });
}
