// "Every row has its workflow": rows (bookings, withdrawals) commit first and
// their request then starts the workflow and sets `workflow_started`. Rows
// still unset after a grace period (the request died, Temporal was away) are
// claimed here, `FOR UPDATE SKIP LOCKED` so several workers share the work,
// and started; starting one that already runs is harmless (one id per row).
import type { Conn, Db } from './knex';

export type WorkflowTable = 'bookings' | 'withdrawals';

export async function markWorkflowsStarted(conn: Conn, table: WorkflowTable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await conn(table)
    .whereIn('id', ids)
    .andWhere({ workflow_started: false })
    .update({ workflow_started: true });
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
