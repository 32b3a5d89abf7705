// Activities of the maintenance workflow.
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { auditLedger as runAudit, formatAuditReport } from '../ledger/audit';
import type { LedgerAuditSummary } from '../workflows/shared';

/** Rows deleted per statement, and statements per call: a bound on one activity's work. */
const PURGE_BATCH = 5_000;
const PURGE_BATCHES_PER_CALL = 100;

export function createMaintenanceActivities(deps: { db: Db; logger: Logger }) {
  return {
    /** Runs every ledger invariant check; a breach is logged as an error with its evidence. */
    async auditLedger(): Promise<LedgerAuditSummary> {
      const report = await runAudit(deps.db);
      const failedChecks = report.checks.filter((c) => !c.ok).map((c) => c.name);
      if (!report.ok)
        deps.logger.error({ failedChecks, report: formatAuditReport(report) }, 'LEDGER INVARIANTS BROKEN');
      return {
        ok: report.ok,
        failedChecks,
        accounts: report.accounts,
        transfers: report.transfers,
        at: new Date().toISOString(),
      };
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
