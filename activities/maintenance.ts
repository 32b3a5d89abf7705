// Activities of the maintenance workflow.
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { auditLedger as runAudit, formatAuditReport, type AuditReport } from '../ledger/audit';
import { auditLedgerIncrementally as runIncrementalAudit } from '../ledger/incremental-audit';
import type { LedgerAuditSummary } from '../workflows/shared';

/** Rows deleted per statement, and statements per call: a bound on one activity's work. */
const PURGE_BATCH = 5_000;
const PURGE_BATCHES_PER_CALL = 100;

export function createMaintenanceActivities(deps: { db: Db; logger: Logger }) {
  /** The workflow's view of a report; a breach is logged as an error with its evidence. */
  function summarise(report: AuditReport): LedgerAuditSummary {
    const failedChecks = report.checks.filter((c) => !c.ok).map((c) => c.name);
    if (!report.ok)
      deps.logger.error({ failedChecks, report: formatAuditReport(report) }, 'LEDGER INVARIANTS BROKEN');
    return {
      ok: report.ok,
      failedChecks,
      accounts: report.accounts,
      transfers: report.transfers,
      at: new Date().toISOString(),
      mode: report.mode,
      ...(report.checkpoint === undefined
        ? {}
        : {
            windowTransfers: report.checkpoint.windowTransfers,
            checkpointId: report.checkpoint.recordedId,
          }),
    };
  }

  return {
    /**
     * Recomputes every balance from every transfer and runs every ledger
     * invariant check. What rounds ran before the incremental audit (their
     * histories replay it); `npm run ledger:audit -- --full` does the same.
     */
    async auditLedger(): Promise<LedgerAuditSummary> {
      return summarise(await runAudit(deps.db));
    },

    /**
     * The round's audit: every invariant over the transfers committed since
     * the last checkpoint and every balance row, then the next checkpoint
     * (ledger/incremental-audit.ts; the full audit when there is no checkpoint yet).
     */
    async auditLedgerIncrementally(): Promise<LedgerAuditSummary> {
      return summarise(await runIncrementalAudit(deps.db));
    },

    /** Deletes stored Idempotency-Key answers (and long-abandoned claims) older than the retention. */
    async purgeIdempotencyKeys(input: { olderThanHours: number }): Promise<number> {
      let purged = 0;
      for (let batch = 0; batch < PURGE_BATCHES_PER_CALL; batch++) {
        const { rowCount } = await deps.db.raw<{ rowCount: number }>(
          `delete from idempotency_keys where ctid = any (array(
             select ctid from idempotency_keys
              where created_at < now() - make_interval(hours => ?)
                and (state = 'completed' or lease_until < now())
              limit ?))`,
          [input.olderThanHours, PURGE_BATCH],
        );
        purged += rowCount;
        if (rowCount < PURGE_BATCH) break;
        Context.current().heartbeat(purged);
      }
      return purged;
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
